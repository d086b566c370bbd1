import type { TarFinding } from '../../harness/archive/tar-read.ts';
import type { ExecOutcome } from '../../harness/runtime/index.ts';
import type { DatabaseCheck } from './archive.ts';
import type { HiveloomFacts } from './facts.ts';
import type { BackupJson } from './layout.ts';

/**
 * What a Hiveloom session observes, stage by stage (the profile's
 * StageObservations): the session reads and returns these, the contract
 * (contract.ts) judges them. No key bytes are kept here: a key is known by its
 * size, mode and sha256 only.
 */
export interface HiveloomObservationTypes {
  inspect: HiveloomArchiveSeen;
  provision: HiveloomProvisioned;
  probe: HiveloomObservations;
}

/** What inspect read in the archive, without trusting it. */
export interface HiveloomArchiveSeen {
  /** Entries the safe tar reader refused: nothing else was read. */
  refused: TarFinding[];
  /** Ways the archive is not laid out as 0.2.0 writes it. */
  layout: string[];
  /** backup.json, when it parsed. */
  backup?: BackupJson;
  /** The size of data/master.key, when the archive holds one. */
  masterKeyBytes?: number;
  /** Each SQLite database: its WAL against its main file, and integrity_check with the WAL applied. */
  databases: DatabaseCheck[];
  /**
   * The archive's data read with the archive's own key (stores and credentials), once the key is 32 bytes
   * and every database is intact; or why it could not be read.
   */
  read?: { facts: HiveloomFacts } | { error: string };
}

/** What provision observed: `hiveloom version` as the image's binary answered it. */
export interface HiveloomProvisioned {
  binary: { exitCode: number; stdout: string; stderr: string; version?: string };
}

/** What the probe recorded: what Hiveloom said about the restored instance, and the restored data dir as the harness read it at rest. */
export interface HiveloomObservations {
  /** The archive's backup.json (its scope and tenant). */
  backup: BackupJson;
  doctor?: ExecOutcome;
  tenantList?: ExecOutcome;
  /** `agent list --tenant SLUG --json` per tenant slug. */
  agentLists: Record<string, ExecOutcome>;
  /** The restored files, read with the server stopped; absent when it would not stop (probe.at-rest). */
  atRest?: RestoredAtRest;
}

/** The restored data dir read at rest, in the order it was read. */
export interface RestoredAtRest {
  masterKey: RestoredKey;
  /** An instance archive's platform.db was found after the restore (tenant archives: not looked for). */
  platformDb?: boolean;
  /** The restored databases as they were checked, in order: integrity_check problems, or a store the archive holds that the restore lost. */
  files: Array<{ kind: 'integrity'; name: string; problems: string[] } | { kind: 'lost'; slug: string; path: string }>;
  /** The harness's reading of the restored files (opened with the restored key), when every database read was intact. */
  facts?: HiveloomFacts;
}

/** data/master.key after the restore, against the archive's and the one the first start created (digests only). */
export type RestoredKey =
  | { present: false }
  | {
      present: true;
      bytes: number;
      mode: number;
      sha256: string;
      /** The archive's key, when it holds one. */
      archiveSha256?: string;
      /** The key the server created at its first start on the empty data dir, when it could be read. */
      firstStartSha256?: string;
    };
