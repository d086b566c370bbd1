/** The stages of a drill, in order. */
export const STAGES = ['plan', 'integrity', 'inspect', 'provision', 'restore', 'probe', 'compare', 'upgrade', 'post-upgrade'] as const;
export type StageName = (typeof STAGES)[number];

/**
 * One check's result. `error` means the check could not reach a conclusion
 * (did not run, timed out, output not parseable): never a pass.
 */
export type CheckStatus = 'pass' | 'fail' | 'error';

export interface CheckResult {
  /** Stable id, e.g. "integrity.sha256", "count.users", "chain.walk". */
  id: string;
  stage: StageName;
  status: CheckStatus;
  /** One sentence a person can act on. */
  reason: string;
  expected?: unknown;
  observed?: unknown;
}

export type StageStatus = 'passed' | 'failed' | 'error' | 'skipped';

export interface StageTiming {
  name: StageName;
  status: StageStatus;
  durationMs: number;
}

export type Verdict = 'passed' | 'failed' | 'error';

/** What the probe read from the restored system, compared with the manifest afterwards. */
export interface Observations {
  schemaRevision?: string;
  counts: Record<string, number>;
  fingerprints: Record<string, string>;
  chain?: ChainObservation;
}

export interface ChainObservation {
  table: string;
  length: number;
  headHmac: string | null;
  firstPrevHmac: string | null;
  /** Rows whose HMAC matched one of the keys. */
  verifiedRows: number;
  /** The first problems found, in chain order (capped). */
  problems: ChainProblem[];
  problemCount: number;
  /** Id of the first row walked (to name it when a segment's first link breaks). */
  firstRowId?: string;
}

export type ChainProblem =
  | { kind: 'hmac-mismatch'; position: number; rowId: string }
  | { kind: 'chain-break'; position: number; rowId: string; expectedPrev: string | null; actualPrev: string | null };

export interface DrillReport {
  drillId: string;
  profile: string;
  archive: { path: string; file: string; sha256?: string; sizeBytes?: number; /** When the backup was taken (manifest). */ createdAt?: string };
  manifest?: string;
  app?: { name: string; version: string };
  image?: { tag: string; id: string; cacheHit: boolean };
  /** For a pre-upgrade gate: the version the restored data was upgraded to, and its image. */
  upgrade?: { toVersion: string; image?: { tag: string; id: string; cacheHit: boolean } };
  verdict: Verdict;
  /** Why the verdict is what it is, in one line. */
  summary: string;
  stages: StageTiming[];
  checks: CheckResult[];
  startedAt: string;
  finishedAt: string;
  durationMs: number;
}
