import type { DrillContext } from '../../harness/profile.ts';
import type { DrillContainer, ExecOutcome } from '../../harness/runtime/index.ts';
import type { ChainObservation, Inspected } from '../../harness/model/types.ts';
import type { Z4jObservationTypes } from './app-checks.ts';
import type { ChainStateObservation } from './chain-state.ts';
import type { Z4jSessionCheckId } from './check-ids.ts';
import type { TailRow } from './restore-row.ts';

export type Z4jContext = DrillContext<Z4jSessionCheckId>;
/** What inspect returns: the archive's own facts (DataFacts) and the backend's reading of it. */
export type Z4jInspected = Inspected<Z4jObservationTypes>;

/** The restored database as the harness reads it, the same questions for every backend. */
export interface RestoredDatabase {
  /** The chain's generation from audit_chain_state; nothing when there is none. */
  chainState(): Promise<{ generation: string } | undefined>;
  restoreAppendedRows(generation: string, archiveSha256: string): Promise<TailRow[]>;
  tableColumns(tables: readonly string[]): Promise<Record<string, string[]>>;
  facts(excludeAuditIds: string[], columns?: Record<string, string[]>): Promise<{ counts: Record<string, number>; fingerprints: Record<string, string>; revision?: string }>;
  /** The key id the active chain's rows were signed with, where the backend reads it before the walk. */
  signingKeyId?(generation: string): Promise<string | undefined>;
  walk(secret: string): Promise<ChainObservation | undefined>;
  observeChainState(secret: string | undefined, walked: ChainObservation | undefined): Promise<ChainStateObservation>;
}

/** What reading the restored database gave: its facts, what only the contract judges, or why it could not be read. */
export interface RestoredRead<T> {
  value?: T;
  /** PRAGMA integrity_check's and foreign_key_check's problems, where the backend checks them (SQLite). */
  integrityProblems?: string[];
  foreignKeyProblems?: string[];
  /** The reading threw: the restored database cannot be read (probe.read). */
  unreadable?: unknown;
}

/**
 * Where a z4j backend differs (SQLite file, PostgreSQL server): reading the
 * archive, provisioning the database z4j restores into, and opening the
 * restored one for the harness's own reading. Everything else (z4j's own
 * commands, the chain, the gate) is the one session's (session.ts). A backend
 * records operational checks only; what it read is judged by the contract.
 */
export interface Z4jBackend {
  /** The archive at first sight: one that is not of this backend's kind at all is read no further. */
  firstSight?(ctx: Z4jContext): Promise<Z4jInspected | undefined>;
  /** Reads the archive without trusting it; undefined when it could not (an operational check says why). */
  readArchive(ctx: Z4jContext, secret: string | undefined): Promise<Z4jInspected | undefined>;
  /** Inspection found the archive cannot be restored at all: nothing is started. */
  refused?(): boolean;
  /** Makes the database z4j restores into and checks it empty; the network z4j reaches it on, or undefined when it stopped. */
  provisionDatabase?(ctx: Z4jContext): Promise<{ network: string } | undefined>;
  /** What a fresh install makes to restore over, and what the gate migrates, in findings' words. */
  readonly freshInstall: string;
  readonly migrated: string;
  /** Whether inspect reads the archive's own signed chain state (SQLite does; a dump is not read that deep). */
  readonly archiveChainState: boolean;
  /**
   * Whether the restored chain's signed state is read even when the chain cannot be walked (no secret, no
   * audit_chain_state): SQLite's is, and its findings say why it cannot be authenticated; a PostgreSQL
   * server's only beside a walk (without audit_chain_state its query could not run).
   */
  readonly chainStateUnwalked: boolean;
  /** Environment for z4j's commands besides its home (the database URL). */
  readonly env: Record<string, string>;
  /** z4j's restore completed (exit 0, "restore complete"): what this backend also requires of its output, in the finding's words; undefined when it is not there. */
  restoreCompleted(r: ExecOutcome): { reason: string; observed?: unknown } | undefined;
  /** Opens the restored database in `app` for `read` (in one snapshot where the backend has them); undefined when it cannot be opened (an operational check says why). */
  withRestored<T>(ctx: Z4jContext, app: DrillContainer, probe: number, read: (db: RestoredDatabase) => Promise<T>): Promise<RestoredRead<T>>;
  /** The gate: takes the restored data out of the old container, and returns how to put it into the new one (nothing for a server both reach). */
  carryData?(ctx: Z4jContext, from: DrillContainer): Promise<(to: DrillContainer) => Promise<void>>;
}
