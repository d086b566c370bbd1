import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DrillError, TimeoutError, errorMessage } from '../errors.ts';
import { debug } from '../log.ts';
import type { CheckResult, StageName, StageTiming } from '../model/types.ts';
import type { DrillContext } from '../profile.ts';
import type { ImageRecipe, BuiltImage } from '../images/index.ts';
import type { DrillContainer } from '../runtime/container.ts';
import type { PrivateNetwork, Runtime } from '../runtime/runtime.ts';
import { makeWorkDir, removeWorkDir } from '../runtime/work-dir.ts';
import { newDrillId } from '../runtime/labels.ts';
import { COMMAND_LIMIT_FLOOR_MS, commandLimit } from './command-limit.ts';
import type { DrillPlan } from './plan.ts';
import { progressWatcher } from './progress.ts';
import type { ArchiveSource } from '../sources/source.ts';

export interface DrillOptions {
  /** Where the drill's containers run (runtime/docker.ts: one Docker engine). */
  runtime: Runtime;
  /** Where the archive's bytes come from; a local file by default (sources/local.ts). */
  source?: ArchiveSource;
  /** Limit for one command in a container; default: derived from the archive by the profile (see command-limit.ts). */
  execTimeoutMs?: number;
  /** The whole drill's limit: when it passes, the drill ends `error`, naming the stage it was in. */
  timeoutMs?: number;
  /**
   * Ends the drill at once (its containers removed), e.g. on SIGINT/SIGTERM or
   * when the run's deadline passes; abort it with the reason 'interrupted' or 'deadline'.
   */
  signal?: AbortSignal;
  /**
   * Pre-upgrade gate: after the drill passes, upgrade the restored data with
   * this version's own migration path and check everything again with it.
   */
  upgradeTo?: string;
  /** Progress lines (stage starts) for the console. */
  onStage?: (archive: string, stage: StageName) => void;
  /** What the drill's containers are doing now (command, parsed output, bytes copied), for a live line. */
  onProgress?: (archive: string, text: string) => void;
}

/**
 * The mechanics of one drill, apart from its pipeline: the context its stages
 * and session see, each stage run under the drill's limits (timeout, deadline,
 * signal), the checks and notes recorded, and the cleanup of everything
 * started. Judges nothing: it records what stages and the verdict layer said.
 */
export class DrillRun {
  readonly drillId = newDrillId();
  readonly startedAt = new Date();
  readonly t0 = performance.now();
  readonly checks: CheckResult[] = [];
  readonly stages: StageTiming[] = [];
  readonly notes: string[] = [];
  readonly ctx: DrillContext;
  /** The archive as the drill reads it: where the source's bytes are on this host (set by the fetch in integrity). */
  archive: string;
  /** The image the drill's application containers run (set at provision). */
  imageTag = '';
  /**
   * The drill's measured recovery time: from its start (before the fetch)
   * until the restored application first answered, i.e. the first check the
   * probe stage recorded or its session's ctx.answered(), whichever came first
   * (or the probe stage's end if it passed without either).
   */
  recoveryMs: number | undefined;
  readonly #plan: DrillPlan;
  readonly #opts: DrillOptions;
  readonly #runtime: Runtime;
  readonly #containers: DrillContainer[] = [];
  readonly #abort = new AbortController();
  readonly #aborted: Promise<void>;
  readonly #limit: { ms: number; explicit: boolean };
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #onOuterAbort: () => void;
  #network: Promise<PrivateNetwork> | undefined;
  #current: StageName = 'plan';
  #ended: string | undefined;
  /** Set by a failing check that settles the verdict before anything starts: the pipeline stops after its stage. */
  #settled = false;

  static async begin(plan: DrillPlan, opts: DrillOptions): Promise<DrillRun> {
    const run = new DrillRun(plan, opts);
    run.#workDir = await makeWorkDir(run.drillId);
    return run;
  }

  #workDir = '';

  private constructor(plan: DrillPlan, opts: DrillOptions) {
    this.#plan = plan;
    this.#opts = opts;
    this.#runtime = opts.runtime;
    this.archive = plan.archive;
    this.#limit = commandLimit(plan.profile, plan.manifest, opts.execTimeoutMs);
    // Timeout and interrupt end the drill where it stands; later checks from the
    // abandoned stage are ignored so they cannot change the verdict.
    this.#timer = opts.timeoutMs ? setTimeout(() => this.#end('timeout'), opts.timeoutMs) : undefined;
    this.#onOuterAbort = () => this.#end(String(opts.signal?.reason ?? 'interrupted'));
    if (opts.signal?.aborted) this.#onOuterAbort();
    opts.signal?.addEventListener('abort', this.#onOuterAbort);
    this.#aborted = new Promise<void>((resolve) => this.#abort.signal.addEventListener('abort', () => resolve()));
    const signal = this.#abort.signal;
    const onProgress = opts.onProgress;
    const watch = onProgress
      ? progressWatcher({
          ...(plan.profile.progress ? { parse: (line: string) => plan.profile.progress!(line) } : {}),
          secrets: plan.secrets?.valuesToRedact() ?? [],
          emit: (text) => {
            if (!signal.aborted) onProgress(plan.archive, text);
          },
        })
      : undefined;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const run = this;
    this.ctx = {
      drillId: this.drillId,
      get archive() {
        return run.archive;
      },
      manifest: plan.manifest,
      secrets: plan.secrets,
      get image() {
        return run.imageTag;
      },
      get workDir() {
        return run.#workDir;
      },
      signal,
      workSubdir(name) {
        signal.throwIfAborted();
        // Not recursive: once the drill removed workDir, this fails instead of recreating it.
        const dir = join(run.#workDir, name);
        mkdirSync(dir, { mode: 0o700 });
        return dir;
      },
      execTimeoutMs: this.#limit.ms,
      async start(o) {
        if (signal.aborted) throw new DrillError(`drill ended (${run.#ended}) before a container could start`, 'RD_DRILL_ENDED');
        const c = await run.#runtime.start({ ...o, image: o.image ?? run.imageTag, drillId: run.drillId });
        run.#containers.push(c);
        if (watch) c.activity = watch;
        if (signal.aborted) await c.stop();
        return c;
      },
      buildImage(recipe: ImageRecipe): Promise<BuiltImage> {
        return run.#runtime.image(recipe);
      },
      async network() {
        signal.throwIfAborted();
        run.#network ??= run.#runtime.privateNetwork(run.drillId);
        return (await run.#network).name;
      },
      check(result, o) {
        if (signal.aborted) return;
        if (run.#current === 'probe') run.recoveryMs ??= performance.now() - run.t0;
        // Kept as found: the verdict is decided on these, and only the report is scrubbed of secrets.
        run.checks.push({ ...result, stage: run.#current });
        if (o?.stop && result.status === 'fail') run.#settled = true;
      },
      note(text) {
        if (signal.aborted) return;
        run.notes.push(text);
      },
      answered() {
        if (signal.aborted || run.#current !== 'probe') return;
        run.recoveryMs ??= performance.now() - run.t0;
      },
    };
  }

  get aborted(): boolean {
    return this.#abort.signal.aborted;
  }

  #end(why: string): void {
    if (this.#abort.signal.aborted) return;
    this.#ended = why;
    this.#abort.abort();
    void Promise.allSettled(this.#containers.map((c) => c.stop()));
  }

  /** Runs a stage; returns false when the pipeline must stop after it. */
  async stage(name: StageName, fn: () => Promise<void>): Promise<boolean> {
    this.#current = name;
    this.#opts.onStage?.(this.#plan.archive, name);
    const before = this.checks.length;
    const s = performance.now();
    let status: StageTiming['status'] = 'passed';
    try {
      if (this.aborted) throw new DrillError('ended', 'RD_DRILL_ENDED');
      await Promise.race([fn(), this.#aborted]);
    } catch (e) {
      debug.drill('stage %s threw: %O', name, e);
      this.ctx.check({
        id: `${name}.${e instanceof TimeoutError ? 'timeout' : 'crash'}`,
        status: 'error',
        reason:
          e instanceof TimeoutError
            ? `timed out in stage ${name}: ${e.message} (${this.#limit.explicit ? 'the limit set with --exec-timeout' : `the limit derived from this archive, at least ${COMMAND_LIMIT_FLOOR_MS / 1000} s`}; raise it with --exec-timeout SECONDS)`
            : `the harness could not finish stage ${name}: ${errorMessage(e)}`,
      });
    }
    if (this.aborted) {
      const why: Record<string, string> = {
        timeout: `timed out in stage ${name}: the drill did not finish within ${(this.#opts.timeoutMs ?? 0) / 1000} s (--timeout)`,
        deadline: `the run's --deadline passed while the drill was in stage ${name}`,
        interrupted: `interrupted in stage ${name} (SIGINT/SIGTERM)`,
      };
      this.checks.push({ id: `${name}.${this.#ended}`, stage: name, status: 'error', reason: why[this.#ended ?? ''] ?? `ended in stage ${name}: ${this.#ended}` });
    }
    const mine = this.checks.slice(before);
    if (mine.some((c) => c.status === 'fail')) status = 'failed';
    else if (mine.some((c) => c.status === 'error')) status = 'error';
    if (name === 'probe' && status === 'passed') this.recoveryMs ??= performance.now() - this.t0;
    const bytes = this.#bytes.get(name);
    this.stages.push({ name, status, durationMs: performance.now() - s, ...(bytes !== undefined ? { bytes } : {}) });
    // A bad archive or secrets file (integrity) starts nothing, and a failed
    // provision or restore leaves nothing to probe. Inspect findings do not
    // stop the drill, so the application's own restore still gets its say,
    // except those that settle the verdict already (an archive not of the
    // profile's kind, a manifest the archive's own facts contradict): a
    // container would only repeat them, slowly. A failing probe still lets
    // the comparison list every difference.
    if (this.aborted || this.#settled) return false;
    return status === 'passed' || name === 'inspect' || name === 'probe';
  }

  /** Records the bytes a stage moved (fetch), on its timing. */
  bytes(name: StageName, n: number): void {
    this.#bytes.set(name, n);
  }

  readonly #bytes = new Map<StageName, number>();

  /** Removes every container, then what the session made, the drill's network and its work folder; whatever happened. */
  async cleanup(dispose: (() => Promise<void>) | undefined): Promise<void> {
    clearTimeout(this.#timer);
    this.#opts.signal?.removeEventListener('abort', this.#onOuterAbort);
    // A container the engine would not remove is said, not left in silence (the drill cannot have passed with it).
    for (const r of await Promise.allSettled(this.#containers.map((c) => c.stop()))) {
      if (r.status === 'rejected') {
        this.checks.push({ id: 'cleanup.containers', stage: this.#current, status: 'error', reason: `${errorMessage(r.reason)}; "restore-drill sweep" removes it once the engine answers` });
      }
    }
    await dispose?.().catch((e: unknown) => debug.drill('session dispose failed: %O', e));
    await this.#network?.then((n) => n.remove()).catch((e: unknown) => debug.drill('network removal failed: %O', e));
    await removeWorkDir(this.#workDir);
  }
}
