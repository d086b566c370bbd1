import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { DrillError } from '../errors.ts';

/** A SQLite file opened read-only for checks; never written. */
export function openReadOnly(path: string): Database.Database {
  return new Database(path, { readonly: true, fileMustExist: true });
}

/** `PRAGMA integrity_check`: an empty list means "ok". */
export function integrityProblems(db: Database.Database, max = 20): string[] {
  const rows = db.pragma(`integrity_check(${max})`) as Array<{ integrity_check: string }>;
  const msgs = rows.map((r) => r.integrity_check);
  return msgs.length === 1 && msgs[0] === 'ok' ? [] : msgs;
}

/** integrity_check of a file; a file SQLite cannot even open is a problem too, never an exception. */
export function fileIntegrityProblems(path: string): string[] {
  try {
    const db = openReadOnly(path);
    try {
      return integrityProblems(db);
    } finally {
      db.close();
    }
  } catch (e) {
    return [`cannot be opened: ${e instanceof Error ? e.message : String(e)}`];
  }
}

/** `PRAGMA foreign_key_check`: every row that points at a missing parent. */
export function foreignKeyProblems(db: Database.Database, max = 20): string[] {
  const out: string[] = [];
  for (const r of db.prepare('PRAGMA foreign_key_check').iterate() as Iterable<{ table: string; rowid: number | null; parent: string; fkid: number }>) {
    out.push(`${r.table} rowid ${r.rowid ?? '?'} references a missing row in ${r.parent}`);
    if (out.length >= max) break;
  }
  return out;
}

/** Every table of the database but SQLite's own, by name. */
export function userTables(db: Database.Database): string[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
}

export function tableExists(db: Database.Database, table: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;
}

/** A filter on a table's rows: a SQL condition and its parameters. */
export interface RowFilter {
  where: string;
  params: unknown[];
}

export function countRows(db: Database.Database, table: string, filter?: RowFilter): number {
  const r = db.prepare(`SELECT count(*) AS n FROM ${quoteIdent(table)}${filter ? ` WHERE ${filter.where}` : ''}`).get(...(filter?.params ?? [])) as { n: number };
  return r.n;
}

/**
 * sha256 over a table's rows in primary-key order (rowid for tables without
 * one), each row as a JSON array of its values. Capture and drill both read
 * through this, so equal data gives equal fingerprints.
 */
export function fingerprintTable(db: Database.Database, table: string, filter?: RowFilter, columns?: string[]): string {
  const info = db.pragma(`table_info(${quoteIdent(table)})`) as Array<{ name: string; pk: number }>;
  if (columns) {
    const gone = columns.filter((c) => !info.some((i) => i.name === c));
    if (gone.length > 0) throw new DrillError(`table ${table} no longer has column(s) ${gone.join(', ')}: their content is gone`, 'RD_UNREADABLE_DATA');
  }
  // `columns`: the table as it was (after a schema upgrade added columns, the backup's columns, in their order).
  const select = columns ? columns.map(quoteIdent).join(', ') : '*';
  const pk = info
    .filter((c) => c.pk > 0)
    .sort((a, b) => a.pk - b.pk)
    .map((c) => quoteIdent(c.name));
  const order = pk.length > 0 ? pk.join(', ') : 'rowid';
  const h = createHash('sha256');
  const stmt = db.prepare(`SELECT ${select} FROM ${quoteIdent(table)}${filter ? ` WHERE ${filter.where}` : ''} ORDER BY ${order}`).raw(true);
  // The digest is over the rows' lines joined: hashed in chunks of many rows (one call each, not two per row).
  let chunk = '';
  for (const row of stmt.iterate(...(filter?.params ?? [])) as Iterable<unknown[]>) {
    chunk += `${JSON.stringify(row, hasBigint(row) ? rowValue : undefined)}\n`;
    if (chunk.length > 65536) {
      h.update(chunk);
      chunk = '';
    }
  }
  h.update(chunk);
  return h.digest('hex');
}

/**
 * A blob goes through Buffer's toJSON ({"type":"Buffer","data":[...]}: a
 * replacer sees the toJSON result, never the Buffer, and every recorded
 * fingerprint was made so). Only a 64-bit integer read as a bigint needs the
 * replacer, and JSON.stringify is much cheaper without one.
 */
function hasBigint(row: unknown[]): boolean {
  for (const v of row) if (typeof v === 'bigint') return true;
  return false;
}

function rowValue(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

/** Each table's column names in their order. */
export function tableColumns(db: Database.Database, tables: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const t of tables) {
    const cols = (db.pragma(`table_info(${quoteIdent(t)})`) as Array<{ name: string }>).map((c) => c.name);
    if (cols.length > 0) out[t] = cols;
  }
  return out;
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The SQLite file header check: the first 16 bytes of every database file. */
export const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
