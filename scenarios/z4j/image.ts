import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EnvironmentError } from '../../harness/errors.ts';
import { cacheDir } from '../../harness/paths.ts';
import type { ImageRecipe } from '../../harness/images/index.ts';
import { runAsync } from '../../harness/images/run-async.ts';
import { withBuildLock } from '../../harness/images/build-lock.ts';

const DOCKERFILE = new URL('../../docker/z4j/Dockerfile', import.meta.url);
/** Prints the installed z4j's migration head at image build (both z4j images copy it in). */
export const MIGRATION_HEADS_SCRIPT = new URL('../../docker/z4j/migration-heads.py', import.meta.url);
/** Where the image keeps that head, one per line. */
export const MIGRATION_HEADS_FILE = '/opt/z4j/migration-heads';
/** The container's Python (Debian bookworm's python3): wheels must fit it. */
const PYTHON_VERSION = '3.11';

/**
 * z4j of one version, installed from a wheelhouse the host downloads from PyPI
 * (`pip download`, binary wheels only, for the image's Python), so the image
 * build itself needs no package index.
 */
export function z4jImage(version: string): ImageRecipe {
  const spec = `z4j[postgres]==${version}`;
  return {
    name: 'z4j',
    version,
    dockerfile: readFileSync(DOCKERFILE, 'utf8'),
    buildArgs: { Z4J_VERSION: version },
    inputs: { spec, python: PYTHON_VERSION, migrationHeads: readFileSync(MIGRATION_HEADS_SCRIPT, 'utf8') },
    labels: { 'io.restore-drill.app': 'z4j', 'io.restore-drill.app-version': version },
    async prepareContext(contextDir, say) {
      const wheels = await wheelhouse(version, spec, say);
      cpSync(wheels, join(contextDir, 'wheels'), { recursive: true });
      cpSync(MIGRATION_HEADS_SCRIPT, join(contextDir, 'migration-heads.py'));
    },
  };
}

/** Downloads (once) every wheel z4j of this version needs, for one Python, into the cache. */
export function wheelhouse(version: string, spec: string, say: (l: string) => void, python = PYTHON_VERSION): Promise<string> {
  const dir = join(cacheDir(), 'wheelhouse', `z4j-${version}-py${python}`);
  // One download per folder at a time, across drills and processes (the z4j and z4j-pg images share it).
  return withBuildLock(`wheelhouse-z4j-${version}-py${python}`, () => download(dir, version, spec, say, python));
}

async function download(dir: string, version: string, spec: string, say: (l: string) => void, python: string): Promise<string> {
  if (existsSync(join(dir, '.complete'))) return dir;
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  say(`downloading wheels for ${spec} (pip download)`);
  const pip = findPip();
  const r = await runAsync(pip[0]!, [...pip.slice(1), 'download', '--disable-pip-version-check', '--quiet', '--only-binary=:all:', '--python-version', python, '--dest', partial, spec]);
  if (r.status !== 0) {
    rmSync(partial, { recursive: true, force: true });
    throw new EnvironmentError(`pip download ${spec} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-4).join(' | ')}`, 'RD_WHEELHOUSE');
  }
  if (!readdirSync(partial).some((f) => f.startsWith(`z4j-${version}-`))) {
    throw new EnvironmentError(`pip download ${spec} produced no z4j ${version} wheel`, 'RD_WHEELHOUSE');
  }
  writeFileSync(join(partial, '.complete'), '');
  rmSync(dir, { recursive: true, force: true });
  renameSync(partial, dir);
  return dir;
}

function findPip(): string[] {
  for (const cand of [['python3', '-m', 'pip'], ['pip3'], ['pip']]) {
    if (spawnSync(cand[0]!, [...cand.slice(1), '--version'], { stdio: 'ignore' }).status === 0) return cand;
  }
  throw new EnvironmentError('no pip on this host: install python3-pip (the z4j image is built from wheels the host downloads)', 'RD_WHEELHOUSE');
}
