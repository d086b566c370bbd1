import { errorMessage } from '../errors.ts';
import type { DrillReport, StageName } from '../model/types.ts';
import type { Reporter, RunEndContext } from './reporter.ts';
import type { RunReport } from './run-report.ts';

/** What the run's end wrote: each file a reporter made, and whether any reporter lost its report. */
export interface RunEndOutcome {
  written: Array<{ reporter: string; path: string }>;
  /** A reporter failed to write its report: a run whose drills passed has then proven nothing to its reader. */
  lost: boolean;
}

/**
 * Every hook of the run's reporters, called on each in turn. A reporter that
 * fails (a full disk, a path gone since the start, a bug) is said and costs
 * neither the run nor the other reporters anything; at the end, its lost
 * report is counted so the run cannot pass without it.
 */
export class ReporterFanOut {
  readonly #reporters: readonly Reporter[];
  readonly #say: (line: string) => void;

  constructor(reporters: readonly Reporter[], say: (line: string) => void) {
    this.#reporters = reporters;
    this.#say = say;
  }

  /** Whether any reporter shows a running drill's progress (so the drill need not describe it otherwise). */
  get wantsProgress(): boolean {
    return this.#reporters.some((r) => r.onProgress);
  }

  async onRunStart(archives: string[]): Promise<void> {
    for (const r of this.#reporters) {
      try {
        await r.onRunStart?.(archives);
      } catch (e) {
        this.#warn(r, 'at the start of the run', e);
      }
    }
  }

  onDrillStart(archive: string): void {
    this.#each((r) => r.onDrillStart?.(archive), `on ${archive}`);
  }

  onStage(archive: string, stage: StageName): void {
    this.#each((r) => r.onStage?.(archive, stage), `on ${archive}`);
  }

  onProgress(archive: string, text: string): void {
    this.#each((r) => r.onProgress?.(archive, text), `on ${archive}`);
  }

  onDrillEnd(report: DrillReport): void {
    this.#each((r) => r.onDrillEnd?.(report), `on ${report.archive.path}`);
  }

  /** Each reporter writes its form; a failure is said as an error and counted as a lost report. */
  async onRunEnd(run: RunReport, ctx: RunEndContext): Promise<RunEndOutcome> {
    const out: RunEndOutcome = { written: [], lost: false };
    for (const r of this.#reporters) {
      try {
        const wrote = await r.onRunEnd?.(run, ctx);
        if (wrote) {
          out.written.push({ reporter: r.name, path: wrote });
          this.#say(`${r.name} report: ${wrote}`);
        }
      } catch (e) {
        out.lost = true;
        this.#say(`error: the ${r.name} report could not be written: ${errorMessage(e)}`);
      }
    }
    return out;
  }

  #each(hook: (r: Reporter) => void, where: string): void {
    for (const r of this.#reporters) {
      try {
        hook(r);
      } catch (e) {
        this.#warn(r, where, e);
      }
    }
  }

  #warn(r: Reporter, where: string, e: unknown): void {
    this.#say(`warning: the ${r.name} reporter failed ${where}: ${errorMessage(e)}`);
  }
}
