import type Database from 'better-sqlite3';
import { countRows, fingerprintTable, integrityProblems, tableExists, type RowFilter } from '../../harness/checks/sqlite-db.ts';
import { walkChain } from '../../harness/checks/hmac-chain.ts';
import type { ChainObservation } from '../../harness/model/types.ts';
import { ChainOrderError, chainKey, chainRows, readChainState } from './audit-chain.ts';
import { nativeWalker, walkNativeSync } from './chain-walk/native.ts';
import { auditLayout, walkRowidSlice } from './chain-walk/page-walk.ts';
import { PARALLEL_MIN_ROWS, walkInParallel } from './chain-walk/parallel.ts';
import { COUNTED_TABLES } from './tables.ts';
import { thisDrillsRestoreRow, type TailRow } from './restore-row.ts';

/**
 * PRAGMA integrity_check's problems one line each (SQLite puts several in one
 * row, after a "*** in database main ***" line), to quote in one-line findings.
 */
export function integrityLines(db: Database.Database): string[] {
  return integrityProblems(db)
    .flatMap((p) => p.split('\n'))
    .map((l) => l.trim())
    .filter((l) => l && !/^\*\*\* in database \w+ \*\*\*$/.test(l));
}

/** What z4j's SQLite database says about itself, read straight from the file. */
export interface Z4jFacts {
  version?: string;
  revision?: string;
  counts: Record<string, number>;
  fingerprints: Record<string, string>;
  missingTables: string[];
}

export function readVersion(db: Database.Database): string | undefined {
  if (!tableExists(db, 'z4j_meta')) return undefined;
  const r = db.prepare("SELECT value FROM z4j_meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
  return r?.value;
}

export function readRevision(db: Database.Database): string | undefined {
  if (!tableExists(db, 'alembic_version')) return undefined;
  const r = db.prepare('SELECT version_num FROM alembic_version').get() as { version_num: string } | undefined;
  return r?.version_num;
}

/**
 * Counts and fingerprints of the counted tables. `exclude` leaves out audit rows
 * the drill's own restore appended (they are not part of the backup);
 * `columns` limits each fingerprint to the columns the backup had (after a
 * gate's upgrade added some).
 */
export function readFacts(db: Database.Database, excludeAuditIds: string[] = [], columns?: Record<string, string[]>): Z4jFacts {
  const facts: Z4jFacts = { counts: {}, fingerprints: {}, missingTables: [] };
  const version = readVersion(db);
  const revision = readRevision(db);
  if (version) facts.version = version;
  if (revision) facts.revision = revision;
  for (const t of COUNTED_TABLES) {
    if (!tableExists(db, t)) {
      facts.missingTables.push(t);
      continue;
    }
    const filter: RowFilter | undefined =
      t === 'audit_log' && excludeAuditIds.length > 0 ? { where: `id NOT IN (${excludeAuditIds.map(() => '?').join(',')})`, params: excludeAuditIds } : undefined;
    facts.counts[t] = countRows(db, t, filter);
    facts.fingerprints[t] = fingerprintTable(db, t, filter, columns?.[t]);
  }
  return facts;
}

/** The row this drill's restore appended at the tail of the active chain (see thisDrillsRestoreRow). */
export function restoreAppendedRows(db: Database.Database, generation: string, archiveSha256: string): TailRow[] {
  const r = db
    .prepare('SELECT id, action, prev_row_hmac, metadata FROM audit_log WHERE legacy_frozen = 0 AND chain_generation = ? ORDER BY occurred_at DESC, id DESC LIMIT 1')
    .get(generation) as { id: string; action: string; prev_row_hmac: string | null; metadata: string } | undefined;
  return thisDrillsRestoreRow(r && { id: r.id, action: r.action, prevRowHmac: r.prev_row_hmac, metadata: r.metadata }, archiveSha256);
}

/**
 * What a manifest records of the chain (length, head, what the first row links
 * to), read with three indexed queries: capture has no secret to verify with,
 * so it neither rebuilds nor hashes any row.
 */
export function chainShape(db: Database.Database): Pick<ChainObservation, 'length' | 'headHmac' | 'firstPrevHmac'> | undefined {
  const state = readChainState(db);
  if (!state) return undefined;
  const where = 'FROM audit_log WHERE legacy_frozen = 0 AND chain_generation = ?';
  const length = (db.prepare(`SELECT count(*) AS n ${where}`).get(state.generation) as { n: number }).n;
  const first = db.prepare(`SELECT prev_row_hmac AS p ${where} ORDER BY occurred_at, id LIMIT 1`).get(state.generation) as { p: string | null } | undefined;
  const last = db.prepare(`SELECT row_hmac AS h ${where} ORDER BY occurred_at DESC, id DESC LIMIT 1`).get(state.generation) as { h: string } | undefined;
  return { length, headHmac: last?.h ?? null, firstPrevHmac: first?.p ?? null };
}

/**
 * Walks the whole active chain with the secret (or, with none, reads its shape
 * only: every row then counts as unverified).
 */
export function walkZ4jChain(db: Database.Database, secret: string | undefined): ChainObservation | undefined {
  const state = readChainState(db);
  if (!state) return undefined;
  const opts = { table: 'audit_log', keys: secret ? [chainKey(secret)] : [] };
  // The native walk settles a clean chain, or one stored out of order; anything else is walked below, which decides.
  const bin = opts.keys.length > 0 && !db.memory ? nativeWalker() : undefined;
  const layout = bin ? auditLayout(db) : undefined;
  if (bin && layout) {
    const [n] = walkNativeSync(bin, db.name, layout, state.generation, opts.keys, [{}]);
    if (n?.status === 'clean') return n.obs;
    if (n?.status === 'disorder') return walkChain(chainRows(db, state.generation), opts);
  }
  try {
    // A table scan when rows are stored in chain order (they are, as z4j appends them)...
    return walkRowidSlice(db, state.generation, opts.keys);
  } catch (e) {
    if (!(e instanceof ChainOrderError)) throw e;
    // ...else the ordered query, from the start.
    return walkChain(chainRows(db, state.generation), opts);
  }
}

/** The same walk on every core for long chains (the file at dbPath is what db has open). */
export async function walkZ4jChainFast(db: Database.Database, dbPath: string, secret: string, threads?: number): Promise<ChainObservation | undefined> {
  const state = readChainState(db);
  if (!state) return undefined;
  // How many rows there are only decides whether and where to split the work (the walk counts every
  // row itself): the signed state's count, or the table's rowid span where that is larger (both read
  // in O(1), where count(*) would scan the table once more before the walk).
  const span = db.prepare('SELECT max(rowid) - min(rowid) + 1 AS n FROM audit_log').get() as { n: number | null };
  const length = Math.max(state.activeRowCount ?? 0, span.n ?? 0);
  if (length < PARALLEL_MIN_ROWS || threads === 1) return walkZ4jChain(db, secret);
  return walkInParallel(db, dbPath, state.generation, length, secret, threads);
}
