import type { ArchiveChainReading } from './archive-chain.ts';
import type { DumpReading } from './pg/inspect.ts';

/**
 * What a z4j drill's inspect read in the archive beside what it says about
 * itself (the harness's DataFacts): judged by the contract (judgeArchive) at inspect.
 */
export interface Z4jArchiveReading {
  /**
   * A SQLite file: whether it has SQLite's header, PRAGMA integrity_check's problems (one a line), the z4j
   * tables it lacks, its chain as read with the secret; each read only when what is before it allowed.
   */
  sqlite?: { header: boolean; integrity?: string[]; missingTables?: string[]; chain?: ArchiveChainReading };
  /** A pg_dump archive as read without a server, and the key id of the secret supplied (never the secret). */
  dump?: { reading: DumpReading; secretKeyId?: string };
}
