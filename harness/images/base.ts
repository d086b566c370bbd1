import { spawn } from 'node:child_process';
import { runAsync } from './run-async.ts';
import { withBuildLock } from './build-lock.ts';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { EnvironmentError } from '../errors.ts';
import { debug } from '../log.ts';
import { cacheDir } from '../paths.ts';
import { imageRepo } from './recipe.ts';

/** The base every restore-drill image is built FROM. */
export interface BaseImage {
  /** Image reference to put in FROM. */
  ref: string;
  /** Image id: part of every recipe hash built on it. */
  id: string;
  /** How it was obtained, for messages. */
  source: string;
  /** False when it was found ready. */
  built: boolean;
}

export type BaseMode = 'auto' | 'debootstrap' | 'registry';

/** Debian suites a base can be built from: bookworm (the default) and trixie (newer PostgreSQL). */
export type BaseSuite = 'bookworm' | 'trixie';

export interface BaseOptions {
  mode?: BaseMode;
  /** The Debian suite of the base; bookworm when not given. */
  suite?: BaseSuite;
  say?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

const DEFAULT_SUITE: BaseSuite = 'bookworm';
const registryBase = (suite: BaseSuite) => `debian:${suite}-slim`;
/** Bump "rev" when the debootstrap recipe below changes (the text names the suite, so each suite has its own tag). */
const debootstrapRecipe = (suite: BaseSuite) => `debootstrap --variant=minbase ${suite}; apt lists and caches removed; rev 1`;

export function localBaseTag(suite: BaseSuite = DEFAULT_SUITE): string {
  const h = createHash('sha256').update(debootstrapRecipe(suite)).digest('hex').slice(0, 12);
  return `${imageRepo('base')}:${suite}-${h}`;
}

type Strategy = (docker: Docker, opts: BaseOptions) => Promise<BaseImage | undefined>;

/** A base built here earlier: the usual case after the first build, no network needed. */
const cachedLocal: Strategy = async (docker, opts) => {
  const tag = localBaseTag(opts.suite);
  const id = await imageId(docker, tag);
  return id ? { ref: tag, id, source: `${tag} (built here earlier)`, built: false } : undefined;
};

/** The ordinary registry image, when it is already here or a registry gives it. */
const registry: Strategy = async (docker, opts) => {
  const REGISTRY_BASE = registryBase(opts.suite ?? DEFAULT_SUITE);
  let id = await imageId(docker, REGISTRY_BASE);
  if (!id && opts.mode === 'registry') {
    opts.say?.(`pulling ${REGISTRY_BASE}`);
    try {
      await pull(docker, REGISTRY_BASE);
    } catch (e) {
      throw new EnvironmentError(`cannot pull ${REGISTRY_BASE}: ${(e as Error).message}. Use --base debootstrap to build the base locally.`, 'RD_BASE_PULL');
    }
    id = await imageId(docker, REGISTRY_BASE);
  }
  return id ? { ref: REGISTRY_BASE, id, source: REGISTRY_BASE, built: false } : undefined;
};

/** Debian built from packages and imported: works with no image registry at all. */
const debootstrap: Strategy = (docker, opts) =>
  withBuildLock(`base-${opts.suite ?? DEFAULT_SUITE}`, async () => {
    // Another drill or process may have built it while this one waited.
    const done = await cachedLocal(docker, opts);
    return done ?? buildWithDebootstrap(docker, opts);
  }, opts.env);

async function buildWithDebootstrap(docker: Docker, opts: BaseOptions): Promise<BaseImage> {
  const say = opts.say ?? (() => {});
  const suite = opts.suite ?? DEFAULT_SUITE;
  const tag = localBaseTag(suite);
  await ensureDebootstrap(say, suite);
  const root = join(cacheDir(opts.env), 'rootfs', tag.replace(/[/:]/g, '_'));
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  say(`building the base image ${tag} with debootstrap (about 30 s)`);
  const r = await runAsync('debootstrap', ['--variant=minbase', suite, root]);
  if (r.status !== 0) {
    rmSync(root, { recursive: true, force: true });
    throw new EnvironmentError(`debootstrap failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`, 'RD_BASE_BUILD');
  }
  // Package lists and caches are stale the moment they are imported; drop them.
  for (const p of ['var/lib/apt/lists', 'var/cache/apt/archives']) {
    rmSync(join(root, p), { recursive: true, force: true });
    mkdirSync(join(root, p, p.endsWith('archives') ? 'partial' : ''), { recursive: true });
  }
  await importTree(docker, root, tag);
  rmSync(root, { recursive: true, force: true });
  const id = await imageId(docker, tag);
  if (!id) throw new EnvironmentError(`docker import of ${tag} reported success but the image is missing`, 'RD_BASE_BUILD');
  return { ref: tag, id, source: `${tag} (debootstrap)`, built: true };
}

/**
 * Picks the base image: one built here before, else (auto) the registry image if
 * it is already present, else a debootstrap build. `debootstrap` and `registry`
 * force one way.
 */
export async function ensureBaseImage(docker: Docker, opts: BaseOptions = {}): Promise<BaseImage> {
  const mode = opts.mode ?? 'auto';
  const order: Strategy[] =
    mode === 'debootstrap' ? [cachedLocal, debootstrap] : mode === 'registry' ? [registry] : [cachedLocal, registry, debootstrap];
  for (const strategy of order) {
    const base = await strategy(docker, opts);
    if (base) {
      debug.image('base image: %s', base.source);
      return base;
    }
  }
  throw new EnvironmentError('no base image could be found or built', 'RD_BASE_BUILD');
}

async function ensureDebootstrap(say: (line: string) => void, suite: BaseSuite): Promise<void> {
  if ((await runAsync('sh', ['-c', 'command -v debootstrap'])).status === 0) return;
  if (process.getuid?.() !== 0 || !existsSync('/etc/debian_version')) {
    throw new EnvironmentError(`debootstrap is not installed and this is not a Debian host run as root: install debootstrap, or provide debian:${suite}-slim (--base registry)`, 'RD_BASE_BUILD');
  }
  say("installing Debian's debootstrap package");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', 'debootstrap']]) {
    const r = await runAsync('apt-get', args, { env });
    if (r.status !== 0) throw new EnvironmentError(`apt-get ${args.join(' ')} failed: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`, 'RD_BASE_BUILD');
  }
}

async function importTree(docker: Docker, root: string, tag: string): Promise<void> {
  const [repo, version] = tag.split(':') as [string, string];
  const tarProc = spawn('tar', ['-C', root, '--numeric-owner', '-c', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  tarProc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // Listen before awaiting anything: tar may well finish before the import does.
  const closed = new Promise<number | null>((resolve) => tarProc.on('close', resolve));
  const stream = await docker.importImage(tarProc.stdout, { repo, tag: version, changes: ['ENV TZ=UTC', 'ENV LANG=C.UTF-8', 'CMD ["sleep","infinity"]'] } as object);
  await followProgress(docker, stream);
  const code = await closed;
  if (code !== 0) throw new EnvironmentError(`tar of the base tree failed: ${stderr.trim()}`, 'RD_BASE_BUILD');
}

export async function imageId(docker: Docker, ref: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(ref).inspect()).Id;
  } catch {
    return undefined;
  }
}

async function pull(docker: Docker, ref: string): Promise<void> {
  const stream = await docker.pull(ref);
  await followProgress(docker, stream);
}

/** Waits for a build/pull/import stream; an error event in it becomes an exception. */
export function followProgress(docker: Docker, stream: NodeJS.ReadableStream, onLine?: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null, output: Array<{ error?: string; errorDetail?: { message?: string } }>) => {
        if (err) return reject(err);
        const failed = output.find((o) => o.error);
        if (failed) return reject(new EnvironmentError(failed.errorDetail?.message ?? failed.error ?? 'the image build failed', 'RD_BASE_BUILD'));
        resolve();
      },
      (event: { stream?: string; status?: string }) => {
        const line = (event.stream ?? event.status ?? '').trimEnd();
        if (line) {
          debug.image('%s', line);
          onLine?.(line);
        }
      },
    );
  });
}
