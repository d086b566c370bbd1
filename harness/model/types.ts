import type { SecretsReading } from './secrets.ts';

/** The stages of a drill, in order. */
export const STAGES = ['plan', 'fetch', 'integrity', 'inspect', 'provision', 'restore', 'probe', 'compare', 'upgrade', 'post-upgrade'] as const;
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
  /** Bytes the stage moved, where it moves an archive's (fetch: the bytes received). */
  bytes?: number;
}

export type Verdict = 'passed' | 'failed' | 'error';

/** A finding before it is placed in a stage; `Id` narrows its id to a profile's check ids. */
export type Finding<Id extends string = string> = Omit<CheckResult, 'stage' | 'id'> & { id: Id };

/**
 * Facts about a data set, read by the harness itself: from the archive (at
 * inspect) or from the restored system (at probe). Keys are the profile's own
 * (table names, "agents[slug]"...); every key observed must be one the manifest
 * records, and every key it records must be observed.
 */
export interface DataFacts {
  /** The application version the data records about itself, where it does (a metadata table, say). */
  appVersion?: string;
  /** The schema/migration revision the data is at. */
  schemaRevision?: string;
  counts: Record<string, number>;
  fingerprints: Record<string, string>;
  chain?: ChainObservation;
}

/**
 * Everything a drill observed, handed to the one compare stage: what inspect
 * read from the archive, what the harness read from the restored data, and
 * the profile's own observations (what the application said; its type is the
 * profile's, and only the profile's contract reads it).
 */
export interface Observations {
  archive?: DataFacts;
  restored?: DataFacts;
  profile?: unknown;
  /** sha256 of the secrets file supplied to the drill, if any. */
  secretsFileSha256?: string;
  /** The path of that file, to name it in a finding (never its values). */
  secretsSource?: string;
  /** That file as the application reads it, where the profile knows how (its names and digest, or why the application would refuse it). */
  secretsRead?: SecretsReading;
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
  archive: {
    path: string;
    file: string;
    sha256?: string;
    sizeBytes?: number;
    /** When the backup was taken (manifest). */
    createdAt?: string;
    /** Where the bytes were fetched from, when not a local file: the location's display form (no credential), its kind, and what pins the bytes there (object version id or ETag, restic snapshot id). */
    source?: { kind: string; location: string; version?: string };
  };
  /** The manifest the drill was checked against: where it was and its exact bytes' sha256. */
  manifest?: { path: string; sha256: string };
  app?: { name: string; version: string };
  image?: { tag: string; id: string; cacheHit: boolean };
  /** For a pre-upgrade gate: the version the restored data was upgraded to, and its image. */
  upgrade?: { toVersion: string; image?: { tag: string; id: string; cacheHit: boolean } };
  verdict: Verdict;
  /** Why the verdict is what it is, in one line. */
  summary: string;
  stages: StageTiming[];
  checks: CheckResult[];
  /**
   * Things an operator should know that do not bear on the verdict (the
   * archive carries files the application ignores, say). Never a check:
   * a note can neither pass nor fail a drill.
   */
  notes?: string[];
  /**
   * Recovery time: from the drill's start (fetch included) until the restored
   * application's first probe check answered; with the budget it was held to,
   * and the longest stage up to then.
   */
  recovery?: { ms?: number; budgetMs?: number; budgetFrom?: 'manifest' | 'command line'; warnOnly?: boolean; longestStage?: StageName };
  /** Where the drill ran: $RESTORE_DRILL_NODE or the host name (a merged report shows which node drilled what). */
  node?: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
}
