import { createWriteStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { basename } from 'node:path';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import { EnvironmentError, TimeoutError, DrillError } from '../errors.ts';
import { debug } from '../log.ts';
import { managedLabels } from './labels.ts';

/** A finished process inside a container, as a value (a failed one too). */
export interface ExecOutcome {
  command: string[];
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface ExecOptions {
  /** Required: nothing the harness runs may hang a drill. */
  timeoutMs: number;
  /** Non-secret variables only: exec environments are visible in `docker inspect`. */
  env?: Record<string, string>;
  user?: string;
  workingDir?: string;
}

export interface StartOptions {
  image: string;
  drillId: string;
  /** "none" (the default) gives the container loopback only; or a network name. */
  network?: string;
  /** Names the container has on that network. */
  aliases?: string[];
  command?: string[];
  env?: Record<string, string>;
  /** Extra labels (e.g. the role of the container in a drill). */
  labels?: Record<string, string>;
  startupTimeoutMs?: number;
}

/**
 * What a container is doing, for a live progress line: a command starting, its
 * output as it arrives, bytes copied in or out. Only the console shows it; the
 * verdict never rests on it.
 */
export type ContainerActivity =
  | { kind: 'exec'; command: string[] }
  | { kind: 'output'; text: string }
  | { kind: 'bytes'; direction: 'in' | 'out'; done: number; total?: number };

/** A file for `putFiles`: bytes, or a host file streamed in; `target` is a path in the container. */
export type PutFile = { target: string; mode: number } & ({ content: string | Buffer } | { source: string });

/** One entry of a folder tree read by `copyTreeOut`: its path below the folder, tar type, permission bits, size. */
export interface TreeEntry {
  path: string;
  type: string;
  mode: number;
  size: number;
}

/** How long the engine has to answer whether a container still runs. */
const ENGINE_ANSWER_MS = 10_000;
/** How long the engine has to remove a container. */
const REMOVE_MS = 60_000;

/** Containers this process started and has not removed: what a signal handler tears down. */
const live = new Set<DrillContainer>();

/** Removes every container this process still has (on SIGINT/SIGTERM). */
export async function stopAllContainers(): Promise<number> {
  const all = [...live];
  await Promise.allSettled(all.map((c) => c.stop()));
  return all.length;
}

/**
 * A started, labelled container that removes itself when disposed. It talks
 * to the engine through dockerode directly: a container library on top
 * (hundreds of modules) cost every CLI start about half a CPU-second.
 */
export class DrillContainer implements AsyncDisposable {
  readonly #docker: Docker;
  readonly #c: Docker.Container;
  readonly #info: Docker.ContainerInspectInfo;
  readonly #removal: (() => Promise<void>) | undefined;
  #stopping: Promise<void> | undefined;
  /** Told what the container is doing (set by the drill for its progress line). */
  activity: ((a: ContainerActivity) => void) | undefined;

  /**
   * `removal`: how a container started by someone else (a test's servers,
   * started by testcontainers) is removed, if not by the harness's own
   * forced removal.
   */
  constructor(docker: Docker, container: Docker.Container, info: Docker.ContainerInspectInfo, removal?: () => Promise<void>) {
    this.#docker = docker;
    this.#c = container;
    this.#info = info;
    this.#removal = removal;
    live.add(this);
  }

  get id(): string {
    return this.#c.id;
  }

  get name(): string {
    return this.#info.Name.replace(/^\//, '');
  }

  /** The container's address on a network it joined (how the host reaches a server on a drill's network). */
  ipAddress(network: string): string {
    const ip = this.#info.NetworkSettings.Networks[network]?.IPAddress;
    if (!ip) throw new EnvironmentError(`the container ${this.name} has no address on network ${network}`, 'RD_CONTAINER_GONE');
    return ip;
  }

  /** Whether the container is running and not paused (the engine's view); an engine that does not say within 10 s counts as no. */
  async #running(): Promise<boolean> {
    try {
      const st = (await withTimeout(this.#c.inspect(), ENGINE_ANSWER_MS, 'no answer')).State;
      return st.Running && !st.Paused;
    } catch {
      return false;
    }
  }

  /** One command to its end: stdout and stderr apart, then the exit code. */
  async #run(command: string[], opts: ExecOptions): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    const exec = await this.#c.exec({
      Cmd: command,
      AttachStdout: true,
      AttachStderr: true,
      ...(opts.env ? { Env: Object.entries(opts.env).map(([k, v]) => `${k}=${v}`) } : {}),
      ...(opts.user ? { User: opts.user } : {}),
      ...(opts.workingDir ? { WorkingDir: opts.workingDir } : {}),
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const watch = this.activity;
    watch?.({ kind: 'exec', command });
    const o = new PassThrough().on('data', (b: Buffer) => (out.push(b), watch?.({ kind: 'output', text: b.toString('utf8') })));
    const e = new PassThrough().on('data', (b: Buffer) => (err.push(b), watch?.({ kind: 'output', text: b.toString('utf8') })));
    this.#docker.modem.demuxStream(stream, o, e);
    await new Promise<void>((resolve, reject) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', reject);
    });
    // The stream can end a moment before the engine records the exit code.
    let info = await exec.inspect();
    for (let i = 0; info.Running && i < 200; i++) {
      await new Promise((r) => setTimeout(r, 10));
      info = await exec.inspect();
    }
    return { exitCode: info.ExitCode ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
  }

  /** Runs a command; a non-zero exit is a value, a timeout is an error naming the command. */
  async exec(command: string[], opts: ExecOptions): Promise<ExecOutcome> {
    const started = performance.now();
    debug.exec('%s: %o', this.name, command);
    const gone = () => new EnvironmentError(`the container ${this.name} stopped running while "${command.join(' ')}" ran (paused, killed or removed)`, 'RD_CONTAINER_GONE');
    const ran = this.#run(command, opts).catch(async (e: unknown) => {
      // The engine refused the exec (409: not running, paused) or lost the container.
      throw (await this.#running()) ? e : gone();
    });
    const r = await withTimeout(ran, opts.timeoutMs, `"${command.join(' ')}" did not finish`);
    // A command cut off because its container stopped answering (paused, killed,
    // removed) did not fail by the application's word: that is the harness's error.
    if (r.exitCode !== 0 && !(await this.#running())) throw gone();
    const outcome = { command, exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, durationMs: performance.now() - started };
    debug.exec('%s: exit %d in %d ms', this.name, outcome.exitCode, Math.round(outcome.durationMs));
    return outcome;
  }

  /** Writes bytes into the container with a mode (0600 for secrets: they die with the container). */
  async writeFile(target: string, content: string | Buffer, mode = 0o644): Promise<void> {
    await this.putFiles([{ target, content, mode }]);
  }

  async copyIn(source: string, target: string, mode = 0o644): Promise<void> {
    await this.putFiles([{ target, source, mode }]);
  }

  /**
   * Files into the container in one tar, so one engine call however many: each
   * a host file streamed straight in (no intermediate archiver, several times
   * slower on large archives) or bytes, with the mode asked for. The engine
   * makes missing parent folders (0755), so no mkdir runs first.
   */
  async putFiles(files: PutFile[]): Promise<void> {
    // Every source is opened and checked before the engine is asked for anything.
    const opened: Array<{ file: PutFile; fh?: FileHandle; size: number; mtime: Date }> = [];
    try {
      for (const file of files) {
        if ('content' in file) {
          opened.push({ file, size: Buffer.byteLength(file.content), mtime: new Date() });
          continue;
        }
        const fh = await open(file.source, 'r');
        const entry = { file, fh, size: 0, mtime: new Date() };
        opened.push(entry); // closed by the finally below, whatever happens next
        const st = await fh.stat();
        if (!st.isFile()) throw new DrillError(`${file.source} is not a regular file`, 'RD_CONTAINER_COMMAND');
        entry.size = st.size;
        entry.mtime = st.mtime;
      }
      const pack = tar.pack();
      const sent = this.#c.putArchive(Readable.from(pack), { path: '/' });
      const watch = this.activity;
      const total = opened.reduce((n, o) => n + o.size, 0);
      let done = 0;
      try {
        for (const { file, fh, size, mtime } of opened) {
          const header = { name: file.target.replace(/^\/+/, ''), size, mode: file.mode, mtime };
          if ('content' in file) {
            await new Promise<void>((resolve, reject) => pack.entry(header, Buffer.from(file.content), (e) => (e ? reject(e) : resolve())));
          } else {
            const read = fh!.createReadStream({ autoClose: false });
            if (watch) read.on('data', (b) => watch({ kind: 'bytes', direction: 'in', done: (done += b.length), total }));
            await pipeline(read, pack.entry(header));
          }
        }
        pack.finalize();
      } catch (e) {
        pack.destroy(e as Error);
        await sent.catch(() => {});
        throw e;
      }
      await sent;
    } finally {
      await Promise.all(opened.map((o) => o.fh?.close()));
    }
  }

  /** Copies one regular file out of the container to a host path. */
  async copyOut(source: string, target: string): Promise<void> {
    const archive = await this.#read(source);
    const extract = tar.extract();
    let found = false;
    const watch = this.activity;
    extract.on('entry', (header, stream, next) => {
      if (!found && header.type === 'file' && basename(header.name) === basename(source)) {
        found = true;
        let done = 0;
        if (watch) stream.on('data', (b: unknown) => watch({ kind: 'bytes', direction: 'out', done: (done += (b as Buffer).length), ...(header.size !== undefined ? { total: header.size } : {}) }));
        pipeline(stream, createWriteStream(target)).then(() => next(), next);
      } else {
        stream.on('end', () => next());
        stream.resume();
      }
    });
    await pipeline(archive as NodeJS.ReadableStream & AsyncIterable<Buffer>, extract);
    if (!found) throw new DrillError(`${source} in ${this.name} is not a regular file`, 'RD_CONTAINER_COMMAND');
  }

  /**
   * A folder's entries (names, not recursive) and, in the same engine call, the
   * regular files among them asked for (name to host path): what a listing and
   * one copy per file would tell, for one call instead of several.
   */
  async copyDirOut(dir: string, wanted: Record<string, string>): Promise<{ entries: string[]; copied: string[] }> {
    const top = (path: string) => !path.includes('/');
    const { entries, copied } = await this.copyTreeOut(dir, (path) => (top(path) && Object.hasOwn(wanted, path) ? wanted[path] : undefined));
    return { entries: entries.filter((e) => top(e.path)).map((e) => e.path), copied };
  }

  /**
   * A whole folder tree in one engine call: every entry below `dir` (path
   * relative to it, type, mode, size) and, in the same read, the regular files
   * `want` maps to a host path. One consistent read of data at rest instead of
   * a listing and one copy per file, which races with anything that still
   * creates or deletes files between the calls. Names that are absolute or
   * climb out (`..`) are listed but never copied.
   */
  async copyTreeOut(dir: string, want: (path: string) => string | undefined): Promise<{ entries: TreeEntry[]; copied: string[] }> {
    const archive = await this.#read(dir);
    const extract = tar.extract();
    const entries: TreeEntry[] = [];
    const copied: string[] = [];
    extract.on('entry', (header, stream, next) => {
      // Names come as "<folder>/<path>": the folder's own entry is not listed.
      const parts = header.name.replace(/\/+$/, '').split('/').slice(1);
      const path = parts.join('/');
      const safe = parts.length > 0 && !parts.some((p) => p === '' || p === '.' || p === '..');
      // Permission bits only: the engine's headers also carry the file type's bits.
      if (path !== '') entries.push({ path, type: header.type ?? 'file', mode: (header.mode ?? 0) & 0o7777, size: header.size ?? 0 });
      const target = safe && header.type === 'file' ? want(path) : undefined;
      if (target !== undefined) {
        copied.push(path);
        pipeline(stream, createWriteStream(target)).then(() => next(), next);
      } else {
        stream.on('end', () => next());
        stream.resume();
      }
    });
    await pipeline(archive as NodeJS.ReadableStream & AsyncIterable<Buffer>, extract);
    return { entries, copied };
  }

  /**
   * A path's tar stream from the engine. Docker 20.10 answers a missing path
   * with 404, which dockerode words "no such container": the error names the
   * path instead, so a missing file is reported as a file.
   */
  async #read(path: string): Promise<NodeJS.ReadableStream> {
    try {
      return await this.#c.getArchive({ path });
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404 && (await this.#running())) throw new DrillError(`${path} does not exist in the container ${this.name}`, 'RD_CONTAINER_COMMAND');
      throw e;
    }
  }

  /** Removes the container; every caller waits for the same removal (a second call does not return early). */
  stop(): Promise<void> {
    if (!this.#stopping) {
      live.delete(this);
      this.#stopping = this.#remove();
    }
    return this.#stopping;
  }

  async #remove(): Promise<void> {
    await (this.#removal ? withTimeout(this.#removal(), REMOVE_MS, `the container ${this.name} was not removed`) : removeContainer(this.#c, this.name));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * Force-removes a container (and its anonymous volumes), resuming it first if
 * paused (the engine cannot kill a frozen one; asking to resume one that is
 * not paused costs what asking whether it is paused would). Bounded: an
 * engine can wedge on a container, and then nothing removes it (seen here on
 * Docker 20.10 with cgroup v1, when a container is frozen just as an exec
 * starts in it: containerd never answers for it again, resume and removal
 * included, until its freezer cgroup is thawed by hand). So not removed
 * within `ms` is an error naming it, never a wait without end.
 */
export async function removeContainer(c: Pick<Docker.Container, 'unpause' | 'remove'>, name: string, ms = REMOVE_MS): Promise<void> {
  const removal = (async () => {
    // Not paused, or gone already: the removal below says what is true.
    await c.unpause().catch(() => {});
    try {
      await c.remove({ force: true, v: true });
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode !== 404) throw e;
    }
  })();
  await withTimeout(removal, ms, `the container ${name} was not removed`);
}

/** Starts a labelled container on the engine given; with no network given it runs with network "none". */
export async function startContainerOn(docker: Docker, opts: StartOptions): Promise<DrillContainer> {
  const network = opts.network ?? 'none';
  debug.runtime('starting %s (network %s) for drill %s', opts.image, network, opts.drillId);
  const container = await docker.createContainer({
    Image: opts.image,
    Cmd: opts.command ?? ['sleep', 'infinity'],
    Labels: { ...managedLabels(opts.drillId), ...opts.labels },
    ...(opts.env ? { Env: Object.entries(opts.env).map(([k, v]) => `${k}=${v}`) } : {}),
    HostConfig: { NetworkMode: network },
    ...(opts.aliases?.length ? { NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: opts.aliases } } } } : {}),
  });
  try {
    await withTimeout(container.start(), opts.startupTimeoutMs ?? 60_000, `container of ${opts.image} did not start`);
    const c = new DrillContainer(docker, container, await container.inspect());
    debug.runtime('started %s', c.name);
    return c;
  } catch (e) {
    await container.remove({ force: true, v: true }).catch(() => {});
    throw e;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} within ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
