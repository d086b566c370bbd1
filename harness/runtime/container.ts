import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { basename } from 'node:path';
// testcontainers (hundreds of modules) loads when the first container starts, not with the CLI.
import type { StartedTestContainer } from 'testcontainers';
import tar from 'tar-stream';
import { EnvironmentError, TimeoutError } from '../errors.ts';
import { debug } from '../log.ts';
import { managedLabels } from './labels.ts';
import { ensureEngine } from './engine.ts';

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

/** The reaper (Ryuk) is an image pulled from a registry: we rely on our labels and sweep instead. */
function disableReaper(): void {
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
}

/** Containers this process started and has not removed: what a signal handler tears down. */
const live = new Set<DrillContainer>();

/** Removes every container this process still has (on SIGINT/SIGTERM). */
export async function stopAllContainers(): Promise<number> {
  const all = [...live];
  await Promise.allSettled(all.map((c) => c.stop()));
  return all.length;
}

/** A started, labelled container that removes itself when disposed. */
export class DrillContainer implements AsyncDisposable {
  readonly #inner: StartedTestContainer;
  #stopping: Promise<void> | undefined;

  constructor(inner: StartedTestContainer) {
    this.#inner = inner;
    live.add(this);
  }

  get id(): string {
    return this.#inner.getId();
  }

  get name(): string {
    return this.#inner.getName().replace(/^\//, '');
  }

  /** The container's address on a network it joined (how the host reaches a server on a drill's network). */
  ipAddress(network: string): string {
    return this.#inner.getIpAddress(network);
  }

  /** Whether the container is running and not paused (the engine's view). */
  async #running(): Promise<boolean> {
    try {
      const st = (await (await ensureEngine()).docker.getContainer(this.id).inspect()).State;
      return st.Running && !st.Paused;
    } catch {
      return false;
    }
  }

  /** Runs a command; a non-zero exit is a value, a timeout is an error naming the command. */
  async exec(command: string[], opts: ExecOptions): Promise<ExecOutcome> {
    const started = performance.now();
    debug.exec('%s: %o', this.name, command);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new TimeoutError(`"${command.join(' ')}" did not finish within ${opts.timeoutMs / 1000} s`)),
        opts.timeoutMs,
      );
    });
    try {
      const r = await Promise.race([
        this.#inner.exec(command, {
          ...(opts.env ? { env: opts.env } : {}),
          ...(opts.user ? { user: opts.user } : {}),
          ...(opts.workingDir ? { workingDir: opts.workingDir } : {}),
        }),
        timeout,
      ]);
      // A command cut off because its container stopped answering (paused, killed,
      // removed) did not fail by the application's word: that is the harness's error.
      if (r.exitCode !== 0 && !(await this.#running())) {
        throw new EnvironmentError(`the container ${this.name} stopped running while "${command.join(' ')}" ran (paused, killed or removed)`, 'RD_CONTAINER_GONE');
      }
      const outcome = { command, exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, durationMs: performance.now() - started };
      debug.exec('%s: exit %d in %d ms', this.name, outcome.exitCode, Math.round(outcome.durationMs));
      return outcome;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Writes bytes into the container with a mode (0600 for secrets: they die with the container). */
  async writeFile(target: string, content: string | Buffer, mode = 0o644): Promise<void> {
    await this.#inner.copyContentToContainer([{ content, target, mode }]);
  }

  async copyIn(source: string, target: string, mode = 0o644): Promise<void> {
    // One tar entry streamed straight from the file: no intermediate archiver
    // (several times slower on large archives), and the mode asked for is the
    // mode the file gets.
    const fh = await open(source, 'r');
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new Error(`${source} is not a regular file`);
      const pack = tar.pack();
      const sent = this.#inner.copyArchiveToContainer(Readable.from(pack), '/');
      const entry = pack.entry({ name: target.replace(/^\/+/, ''), size: st.size, mode, mtime: st.mtime });
      await pipeline(fh.createReadStream({ autoClose: false }), entry);
      pack.finalize();
      await sent;
    } finally {
      await fh.close();
    }
  }

  /** Copies one regular file out of the container to a host path. */
  async copyOut(source: string, target: string): Promise<void> {
    const archive = await this.#inner.copyArchiveFromContainer(source);
    const extract = tar.extract();
    let found = false;
    extract.on('entry', (header, stream, next) => {
      if (!found && header.type === 'file' && basename(header.name) === basename(source)) {
        found = true;
        pipeline(stream, createWriteStream(target)).then(() => next(), next);
      } else {
        stream.on('end', () => next());
        stream.resume();
      }
    });
    await pipeline(archive as NodeJS.ReadableStream & AsyncIterable<Buffer>, extract);
    if (!found) throw new Error(`${source} in ${this.name} is not a regular file`);
  }

  /** Removes the container; every caller waits for the same removal (a second call does not return early). */
  stop(): Promise<void> {
    if (!this.#stopping) {
      live.delete(this);
      this.#stopping = this.#inner.stop({ timeout: 0, remove: true, removeVolumes: true }).then(() => undefined);
    }
    return this.#stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Starts a labelled container; with no network given it runs with network "none". */
export async function startContainer(opts: StartOptions): Promise<DrillContainer> {
  disableReaper();
  const { GenericContainer } = await import('testcontainers');
  let builder = new GenericContainer(opts.image)
    .withLabels({ ...managedLabels(opts.drillId), ...opts.labels })
    .withNetworkMode(opts.network ?? 'none')
    .withCommand(opts.command ?? ['sleep', 'infinity'])
    .withStartupTimeout(opts.startupTimeoutMs ?? 60_000);
  if (opts.env) builder = builder.withEnvironment(opts.env);
  if (opts.aliases?.length) builder = builder.withNetworkAliases(...opts.aliases);
  debug.runtime('starting %s (network %s) for drill %s', opts.image, opts.network ?? 'none', opts.drillId);
  const started = await builder.start();
  const c = new DrillContainer(started);
  debug.runtime('started %s', c.name);
  return c;
}
