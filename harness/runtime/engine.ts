import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Docker from 'dockerode';
import { EnvironmentError } from '../errors.ts';
import { debug } from '../log.ts';
import { stateDir } from '../paths.ts';

/** A container engine that answered a ping. */
export interface Engine {
  docker: Docker;
  /** Where it was found, for messages: "DOCKER_HOST=...", "/var/run/docker.sock". */
  endpoint: string;
  serverVersion: string;
}

export interface EngineOptions {
  env?: NodeJS.ProcessEnv;
  /** Install and start an engine when none answers (root on Debian only). */
  install?: boolean;
  /** Progress lines for the user. */
  say?: (line: string) => void;
  /** How long to wait for a freshly started daemon. */
  startTimeoutMs?: number;
}

const DEFAULT_SOCKET = '/var/run/docker.sock';

/**
 * Each strategy answers with an engine or `undefined` ("not applicable here"),
 * and a note on what it tried, so one combined message can say what is missing.
 */
type Strategy = (env: NodeJS.ProcessEnv) => Promise<{ engine?: Engine; note: string }>;

const fromDockerHost: Strategy = async (env) => {
  const host = env.DOCKER_HOST;
  if (!host) return { note: 'DOCKER_HOST is not set' };
  const docker = new Docker(); // dockerode reads DOCKER_HOST, DOCKER_CERT_PATH, DOCKER_TLS_VERIFY
  const version = await ping(docker);
  return version
    ? { engine: { docker, endpoint: `DOCKER_HOST=${host}`, serverVersion: version }, note: '' }
    : { note: `DOCKER_HOST=${host} does not answer` };
};

const fromDefaultSocket: Strategy = async () => {
  if (!existsSync(DEFAULT_SOCKET)) return { note: `${DEFAULT_SOCKET} does not exist` };
  const docker = new Docker({ socketPath: DEFAULT_SOCKET });
  const version = await ping(docker);
  return version
    ? { engine: { docker, endpoint: DEFAULT_SOCKET, serverVersion: version }, note: '' }
    : { note: `${DEFAULT_SOCKET} exists but the engine behind it does not answer` };
};

async function ping(docker: Docker): Promise<string | undefined> {
  try {
    const v = await withTimeout(docker.version(), 5_000);
    return v.Version;
  } catch (e) {
    debug.engine('ping failed: %s', e);
    return undefined;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
    }),
  ]);
}

/** Finds an engine that answers, without changing anything on the host. */
export async function findEngine(env: NodeJS.ProcessEnv = process.env): Promise<{ engine?: Engine; notes: string[] }> {
  const notes: string[] = [];
  for (const strategy of [fromDockerHost, fromDefaultSocket]) {
    const { engine, note } = await strategy(env);
    if (engine) return { engine, notes };
    notes.push(note);
  }
  return { notes };
}

let cached: Engine | undefined;

/**
 * Finds a working engine; where none answers and this is a Debian host run as
 * root, installs Debian's docker.io and starts dockerd in the background.
 * Idempotent: a second call finds the running engine.
 */
export async function ensureEngine(opts: EngineOptions = {}): Promise<Engine> {
  if (cached) return cached;
  const env = opts.env ?? process.env;
  const say = opts.say ?? (() => {});
  const found = await findEngine(env);
  if (found.engine) return (cached = found.engine);

  const why = found.notes.join('; ');
  if (env.DOCKER_HOST) {
    throw new EnvironmentError(`no container engine answers: ${why}. Start the engine DOCKER_HOST points at, or unset DOCKER_HOST.`, 'RD_NO_ENGINE');
  }
  if (!opts.install) {
    throw new EnvironmentError(`no container engine answers: ${why}. Run "restore-drill setup" (as root on Debian it installs and starts one).`, 'RD_NO_ENGINE');
  }
  const cannot = reasonsWeCannotInstall();
  if (cannot.length > 0) {
    throw new EnvironmentError(`no container engine answers (${why}) and restore-drill cannot start one: ${cannot.join('; ')}. Install Docker and start it, or set DOCKER_HOST.`, 'RD_NO_ENGINE');
  }
  if (!onPath('dockerd')) {
    say("installing Debian's docker.io package (no container engine on this host)");
    run('apt-get', ['update', '-qq']);
    run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'docker.io']);
  }
  const logFile = `${stateDir(env)}/dockerd.log`;
  say(`starting dockerd in the background (log: ${logFile})`);
  startDaemon(logFile);
  const deadline = Date.now() + (opts.startTimeoutMs ?? 90_000);
  while (Date.now() < deadline) {
    const again = await findEngine(env);
    if (again.engine) return (cached = again.engine);
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new EnvironmentError(`dockerd was started but did not answer within ${(opts.startTimeoutMs ?? 90_000) / 1000} s; see ${logFile}`, 'RD_NO_ENGINE');
}

function reasonsWeCannotInstall(): string[] {
  const reasons: string[] = [];
  if (process.platform !== 'linux') reasons.push(`this is ${process.platform}, not Linux`);
  if (!existsSync('/etc/debian_version')) reasons.push('this is not a Debian host (/etc/debian_version missing)');
  if (process.getuid?.() !== 0) reasons.push('this process is not root');
  if (!onPath('dockerd') && !onPath('apt-get')) reasons.push('neither dockerd nor apt-get is on PATH');
  return reasons;
}

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0) {
    throw new EnvironmentError(`${cmd} ${args.join(' ')} failed with exit code ${r.status ?? r.signal}`, 'RD_ENGINE_INSTALL');
  }
}

function startDaemon(logFile: string): void {
  mkdirSync(dirname(logFile), { recursive: true });
  const out = openSync(logFile, 'a');
  // Detached in its own session so it outlives this process and later commands reuse it.
  const child = spawn('dockerd', [], { detached: true, stdio: ['ignore', out, out] });
  child.unref();
}

/** Forgets the cached engine (tests). */
export function resetEngineCache(): void {
  cached = undefined;
}
