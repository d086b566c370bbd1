import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
// dockerode loads when an engine is first needed, not with the CLI.
import type Docker from 'dockerode';
import { EnvironmentError, UsageError, errorMessage } from '../errors.ts';
import { debug } from '../log.ts';
import { stateDir } from '../paths.ts';
import { deferModules } from './lazy-modules.ts';

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
/** How long an engine has to answer before it counts as not answering. */
const PING_TIMEOUT_MS = 5_000;

/**
 * Each strategy answers with an engine or `undefined` ("not applicable here"),
 * and a note on what it tried, so one combined message can say what is missing.
 */
type Strategy = (env: NodeJS.ProcessEnv) => Promise<{ engine?: Engine; note: string }>;

/**
 * The one engine this process uses, resolved as the docker CLI does: DOCKER_HOST
 * when set, else the current Docker context, else the default socket. A named
 * engine is never silently replaced by another one.
 */
export function resolveEngineHost(env: NodeJS.ProcessEnv = process.env): { host: string; named: string } {
  if (env.DOCKER_HOST) return { host: env.DOCKER_HOST, named: `DOCKER_HOST=${env.DOCKER_HOST}` };
  const context = currentContextHost(env);
  if (context) return context;
  return { host: `unix://${DEFAULT_SOCKET}`, named: DEFAULT_SOCKET };
}

/** The Docker CLI's current context (DOCKER_CONTEXT, else config.json's currentContext) and its endpoint. */
function currentContextHost(env: NodeJS.ProcessEnv): { host: string; named: string } | undefined {
  const configDir = env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), '.docker');
  let name = env.DOCKER_CONTEXT;
  if (!name) {
    try {
      name = (JSON.parse(readFileSync(join(configDir, 'config.json'), 'utf8')) as { currentContext?: string }).currentContext;
    } catch {
      return undefined;
    }
  }
  if (!name || name === 'default') return undefined;
  try {
    const meta = JSON.parse(readFileSync(join(configDir, 'contexts', 'meta', createHash('sha256').update(name).digest('hex'), 'meta.json'), 'utf8')) as {
      Endpoints?: { docker?: { Host?: string } };
    };
    const host = meta.Endpoints?.docker?.Host;
    return host ? { host, named: `Docker context "${name}" (${host})` } : undefined;
  } catch {
    throw new EnvironmentError(`the current Docker context "${name}" has no readable endpoint under ${configDir}/contexts; run "docker context use default" or set DOCKER_HOST`, 'RD_NO_ENGINE');
  }
}

type DockerClass = new (opts?: Docker.DockerOptions) => Docker;

/** dockerode options for a DOCKER_HOST-style address. */
function dockerFor(Docker: DockerClass, host: string): Docker {
  if (host.startsWith('unix://')) return new Docker({ socketPath: host.slice('unix://'.length) });
  if (host.startsWith('/')) return new Docker({ socketPath: host });
  if (host.startsWith('ssh://')) {
    // As the docker CLI: the ssh agent's keys; dockerode runs the remote engine's socket through ssh2.
    const u = new URL(host);
    return new Docker({
      protocol: 'ssh',
      host: u.hostname,
      port: Number(u.port || 22),
      ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
      ...(process.env.SSH_AUTH_SOCK ? { sshOptions: { agent: process.env.SSH_AUTH_SOCK } } : {}),
    } as Docker.DockerOptions);
  }
  // tcp:// and others: dockerode reads DOCKER_HOST with its TLS settings itself.
  const u = new URL(host.replace(/^tcp:/, 'http:'));
  return new Docker({ host: u.hostname, port: Number(u.port || 2375), protocol: u.protocol === 'https:' ? 'https' : 'http' });
}

const resolved: Strategy = async (env) => {
  const { host, named } = resolveEngineHost(env);
  if (host.startsWith('unix://') && !existsSync(host.slice('unix://'.length))) return { note: `${named} does not exist` };
  // For tcp:// in this process's own environment, dockerode reads DOCKER_HOST with DOCKER_CERT_PATH and DOCKER_TLS_VERIFY itself.
  // What dockerode requires for ssh:// engines and BuildKit sessions loads only if used.
  deferModules('docker-modem', ['ssh2']);
  deferModules('dockerode', ['@grpc/grpc-js', '@grpc/proto-loader']);
  const { default: Docker } = await import('dockerode');
  const docker = !host.startsWith('unix://') && env === process.env && env.DOCKER_HOST ? new Docker() : dockerFor(Docker, host);
  const answer = await ping(docker);
  if (!('version' in answer)) return { note: `${named} does not answer (${answer.why})` };
  const version = answer.version;
  // Every client in this process (and the docker CLI in children) talks to this engine.
  if (!env.DOCKER_HOST && env === process.env) process.env.DOCKER_HOST = host;
  return { engine: { docker, endpoint: named, serverVersion: version }, note: '' };
};

/**
 * The engine's version, or why it did not answer ("no reply within 5 s",
 * "connection refused"). A request that gets no reply is aborted, which
 * destroys its socket: a peer that accepts and never answers must not hold
 * this process open once the answer "not an engine" is decided.
 */
async function ping(docker: Docker): Promise<{ version: string } | { why: string }> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), PING_TIMEOUT_MS);
  try {
    // dockerode takes the signal (its typings omit the options argument).
    const version = docker.version as unknown as (opts: { abortSignal: AbortSignal }) => Promise<Docker.DockerVersion>;
    const v = await version.call(docker, { abortSignal: abort.signal });
    return { version: v.Version };
  } catch (e) {
    debug.engine('ping failed: %s', e);
    if (abort.signal.aborted) return { why: `no reply within ${PING_TIMEOUT_MS / 1000} s` };
    const code = (e as NodeJS.ErrnoException).code;
    return { why: code === 'ECONNREFUSED' ? 'connection refused' : code ? `${code}` : errorMessage(e) };
  } finally {
    clearTimeout(timer);
  }
}

/** Finds an engine that answers, without changing anything on the host. */
export async function findEngine(env: NodeJS.ProcessEnv = process.env): Promise<{ engine?: Engine; notes: string[] }> {
  const notes: string[] = [];
  for (const strategy of [resolved]) {
    const { engine, note } = await strategy(env);
    if (engine) return { engine, notes };
    notes.push(note);
  }
  return { notes };
}

/**
 * An engine named by address (unix:///path, a bare socket path, tcp://host:port,
 * ssh://user@host), for commands that work on several engines at once (images
 * load --to). It must answer; nothing is installed or started.
 */
export async function engineAt(address: string): Promise<Engine> {
  if (!/^(unix|tcp|ssh|https?):\/\//.test(address) && !address.startsWith('/')) {
    throw new UsageError(`"${address}" is no engine address: write unix:///path/to/docker.sock, tcp://HOST:PORT or ssh://USER@HOST`, 'RD_USAGE');
  }
  if (address.startsWith('unix://') && !existsSync(address.slice('unix://'.length))) {
    throw new EnvironmentError(`no engine at ${address}: the socket does not exist`, 'RD_NO_ENGINE');
  }
  const { default: Docker } = await import('dockerode');
  const docker = dockerFor(Docker, address);
  const answer = await ping(docker);
  if (!('version' in answer)) throw new EnvironmentError(`the engine at ${address} does not answer (${answer.why})`, 'RD_NO_ENGINE');
  return { docker, endpoint: address, serverVersion: answer.version };
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
  if (resolveEngineHost(env).host !== `unix://${DEFAULT_SOCKET}`) {
    throw new EnvironmentError(`no container engine answers: ${why}. Start that engine, or switch context ("docker context use default").`, 'RD_NO_ENGINE');
  }
  if (!opts.install) {
    // Only setup installs or starts anything: a drill never changes the host because the engine blinked.
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
