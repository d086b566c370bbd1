import type { DrillReport, StageName } from '../model/types.ts';
import type { RunReport } from './run-report.ts';

/**
 * A reporter turns drill results into one form a reader uses. Every hook is
 * optional: a file reporter only needs onRunEnd, the console one the others.
 */
export interface Reporter {
  readonly name: string;
  /** The archives this run will drill, in order. */
  onRunStart?(archives: string[]): void | Promise<void>;
  onDrillStart?(archive: string): void;
  onStage?(archive: string, stage: StageName): void;
  /** What a running drill is doing now, in a few words (for a live line; may come often). */
  onProgress?(archive: string, text: string): void;
  onDrillEnd?(report: DrillReport): void;
  /** Writes the final form; returns what it wrote (a path), if anything. */
  onRunEnd?(run: RunReport, ctx: RunEndContext): Promise<string | undefined>;
}

export interface RunEndContext {
  /** Facts from the drill history (time of the last passed drill per archive). */
  /** When an archive (by its sha256) last passed a drill. */
  lastPassed?: (profile: string, sha256: string) => Date | undefined;
  /** Signature status of the JSON report, for forms that show it. */
  signature?: { keyId: string; envelope: string; /** The in-toto attestation bundle (JSON Lines), when one was written. */ attestations?: string };
}

export interface ReporterOptions {
  /** Where the reporter writes (file reporters); undefined means its default. */
  target?: string;
  env: NodeJS.ProcessEnv;
  out: (line: string) => void;
  err: NodeJS.WriteStream;
}
