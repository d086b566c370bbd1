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
  /**
   * The stage the check concerns, as a field of its own (never read from the
   * id): set by the harness where the check is recorded (ctx.check: the
   * stage running) or judged (each contract hook's findings: the stage whose
   * observation it judges). Reports show it; a summary names it.
   */
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

/**
 * A finding before the harness places it in the stage it concerns (it sets
 * `stage`, never the session or contract); `Id` narrows its id to a profile's check ids.
 */
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
 * The types of what one profile's session observes, by the stage that observed
 * it: each part is the profile's own type, and only its contract reads it.
 * `inspect`: what the session read in the archive (beyond the harness's
 * DataFacts); `provision`: what it saw while starting (the binary's own
 * version, say); `probe`: what it read of the restored system at rest and what
 * the application said. `Profile`, `DrillSession` and `Contract` are generic
 * over it, so a contract reads its session's observations without a cast.
 */
export interface StageObservations {
  inspect?: unknown;
  provision?: unknown;
  probe?: unknown;
}

/**
 * Everything a drill observed, handed to the one compare stage: what inspect
 * read from the archive, what the harness read from the restored data, and
 * the profile's own observations (of type `O`, read only by its contract).
 */
export interface Observations<O extends StageObservations = StageObservations> {
  archive?: DataFacts;
  restored?: DataFacts;
  /** The profile's own reading of the archive at inspect. */
  inspected?: O['inspect'];
  /** What the session observed at provision. */
  provisioned?: O['provision'];
  /** The profile's own observations at probe: what the application said, what the session read of the restored data. */
  profile?: O['probe'];
  /** sha256 of the secrets file supplied to the drill, if any. */
  secretsFileSha256?: string;
  /** The path of that file, to name it in a finding (never its values). */
  secretsSource?: string;
  /** That file as the application reads it, where the profile knows how (its names and digest, or why the application would refuse it). */
  secretsRead?: SecretsReading;
}

/** What a session's inspect returns: the archive's own facts (DataFacts, judged by the harness) and the profile's own reading. */
export type Inspected<O extends StageObservations = StageObservations> = Pick<Observations<O>, 'archive' | 'inspected'>;

/** What a session's probe returns: the restored data's facts (DataFacts, compared by the harness) and the profile's own observations. */
export type Probed<O extends StageObservations = StageObservations> = Pick<Observations<O>, 'restored' | 'profile'>;

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
  startedAt: string;
  finishedAt: string;
  durationMs: number;
}
