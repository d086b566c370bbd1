import { thisDrillsRestoreRow, type TailRow } from '../restore-row.ts';
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { stitchSegments, walkChain } from '../../../harness/checks/hmac-chain.ts';
import type { ChainObservation } from '../../../harness/model/types.ts';
import { chainKey, rowMessage, type AuditRow } from '../audit-chain.ts';
import { COUNTED_TABLES } from '../tables.ts';
import { cursorRows } from '../../../harness/runtime/pg-kit.ts';

/**
 * What a z4j PostgreSQL database says about itself, read with `pg` (the
 * harness's own client, not z4j's): counts, content fingerprints, the
 * revision and version, and a full walk of the audit chain. Capture (inside
 * the backup's exported snapshot, or from a scratch restore of a finished
 * dump) and the drill's probe read through the same functions, so equal data
 * gives equal facts.
 */

export interface PgFacts {
  version?: string;
  revision?: string;
  serverVersion: string;
  counts: Record<string, number>;
  fingerprints: Record<string, string>;
  missingTables: string[];
}

export async function tableExists(client: pg.Client, table: string): Promise<boolean> {
  const r = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [`public.${table}`]);
  return r.rows[0]?.t != null;
}

/** Primary-key columns in key order (a partitioned table's key is on the parent). */
async function primaryKey(client: pg.Client, table: string): Promise<string[]> {
  const r = await client.query<{ attname: string }>(
    `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
     WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)`,
    [`public.${table}`],
  );
  return r.rows.map((x) => x.attname);
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Audit rows to leave out (the drill's own restore rows): a condition on `id`. */
function exclusion(table: string, excludeAuditIds: string[]): { where: string; params: unknown[] } {
  return table === 'audit_log' && excludeAuditIds.length > 0 ? { where: ' WHERE NOT (id = ANY($1::uuid[]))', params: [excludeAuditIds] } : { where: '', params: [] };
}

/**
 * sha256 over a table's rows in primary-key order, each row as PostgreSQL's
 * own text form of the record (exact: timestamps to the microsecond, jsonb
 * and numerics as stored), one per line.
 */
export async function fingerprintTable(client: pg.Client, table: string, excludeAuditIds: string[] = [], columns?: string[]): Promise<string> {
  const pk = await primaryKey(client, table);
  // `columns`: the backup's columns after a gate's upgrade added some; a record of them prints as the row did.
  const record = columns ? `ROW(${columns.map((c) => `t.${quoteIdent(c)}`).join(', ')})::text` : 't::text';
  const order = pk.length > 0 ? pk.map(quoteIdent).join(', ') : 't::text';
  const { where, params } = exclusion(table, excludeAuditIds);
  const h = createHash('sha256');
  for await (const rows of cursorRows<{ r: string }>(client, `SELECT ${record} AS r FROM public.${quoteIdent(table)} t${where} ORDER BY ${order}`, params, 'rd_fp')) {
    for (const row of rows) h.update(`${row.r}\n`);
  }
  return h.digest('hex');
}

export async function countRows(client: pg.Client, table: string, excludeAuditIds: string[] = []): Promise<number> {
  const { where, params } = exclusion(table, excludeAuditIds);
  const r = await client.query<{ n: string }>(`SELECT count(*) AS n FROM public.${quoteIdent(table)}${where}`, params);
  return Number(r.rows[0]!.n);
}

/** Each table's column names in their order. */
export async function pgTableColumns(client: pg.Client, tables: readonly string[]): Promise<Record<string, string[]>> {
  const r = await client.query<{ table_name: string; column_name: string }>(
    "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ANY($1::text[]) ORDER BY table_name, ordinal_position",
    [tables],
  );
  const out: Record<string, string[]> = {};
  for (const row of r.rows) (out[row.table_name] ??= []).push(row.column_name);
  return out;
}

/** Counts, fingerprints, version and revision (call inside a snapshot for a consistent read). */
export async function readPgFacts(client: pg.Client, excludeAuditIds: string[] = [], columns?: Record<string, string[]>): Promise<PgFacts> {
  const server = await client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
  const facts: PgFacts = { serverVersion: server.rows[0]!.v, counts: {}, fingerprints: {}, missingTables: [] };
  if (await tableExists(client, 'z4j_meta')) {
    const r = await client.query<{ value: string }>("SELECT value FROM public.z4j_meta WHERE key = 'schema_version'");
    if (r.rows[0]) facts.version = r.rows[0].value;
  }
  if (await tableExists(client, 'alembic_version')) {
    const r = await client.query<{ version_num: string }>('SELECT version_num FROM public.alembic_version');
    if (r.rows[0]) facts.revision = r.rows[0].version_num;
  }
  for (const t of COUNTED_TABLES) {
    if (!(await tableExists(client, t))) {
      facts.missingTables.push(t);
      continue;
    }
    facts.counts[t] = await countRows(client, t, excludeAuditIds);
    facts.fingerprints[t] = await fingerprintTable(client, t, excludeAuditIds, columns?.[t]);
  }
  return facts;
}

export interface PgChainState {
  generation: string;
  pruneRowHmac: string | null;
  headRowHmac: string | null;
  activeRowCount: number | null;
}

export async function readPgChainState(client: pg.Client): Promise<PgChainState | undefined> {
  if (!(await tableExists(client, 'audit_chain_state'))) return undefined;
  const r = await client.query<{ generation: string; prune_row_hmac: string | null; head_row_hmac: string | null; active_row_count: string | null }>(
    'SELECT generation::text AS generation, prune_row_hmac, head_row_hmac, active_row_count FROM public.audit_chain_state',
  );
  const s = r.rows[0];
  return s && { generation: s.generation, pruneRowHmac: s.prune_row_hmac, headRowHmac: s.head_row_hmac, activeRowCount: s.active_row_count === null ? null : Number(s.active_row_count) };
}

/** The key id the active chain's rows were signed with (its first row's), if there are rows. */
export async function chainSigningKeyId(client: pg.Client, generation: string): Promise<string | undefined> {
  const r = await client.query<{ k: string | null }>('SELECT hmac_key_id AS k FROM public.audit_log WHERE NOT legacy_frozen AND chain_generation = $1::uuid LIMIT 1', [generation]);
  return r.rows[0]?.k ?? undefined;
}

/**
 * The fields z4j signs, as PostgreSQL renders them in the form z4j's Python
 * canonicalises them to: dashed uuids, the time in UTC with six fraction
 * digits, the compressed address, the metadata's JSON text (re-emitted the
 * way Python's json.dumps does by rowMessage).
 */
const CHAIN_SELECT = `SELECT id::text AS id, action, target_type, target_id, result, outcome, event_id::text AS event_id,
  user_id::text AS user_id, api_key_id::text AS api_key_id, project_id::text AS project_id, host(source_ip) AS source_ip,
  user_agent, metadata::text AS metadata,
  to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"') AS occurred_at,
  prev_row_hmac, row_hmac, hmac_key_id, hmac_version, chain_generation::text AS chain_generation
FROM public.audit_log WHERE NOT legacy_frozen AND chain_generation = $1::uuid ORDER BY occurred_at, id`;

/**
 * Walks the whole active chain with the secret (or, with none, reads its
 * shape: every row then counts as unverified), batch by batch from a cursor;
 * the batches are stitched so each batch's first link is checked too.
 */
export async function walkPgChain(client: pg.Client, secret: string | undefined): Promise<ChainObservation | undefined> {
  const state = await readPgChainState(client);
  if (!state) return undefined;
  const keys = secret ? [chainKey(secret)] : [];
  const segments: ChainObservation[] = [];
  let first: string | undefined;
  for await (const rows of cursorRows<AuditRow>(client, CHAIN_SELECT, [state.generation], 'rd_chain')) {
    first ??= rows[0]?.id;
    segments.push(walkChain(rows.map(toChainRow), { table: 'audit_log', keys }));
  }
  const walked = stitchSegments('audit_log', segments);
  return first ? { ...walked, firstRowId: first } : walked;
}

function toChainRow(r: AuditRow) {
  return { id: r.id, rowHmac: r.row_hmac, prevHmac: r.prev_row_hmac, keyId: r.hmac_key_id, message: rowMessage(r) };
}

/** Rows at the tail of the active chain that a z4j restore appended (chain order). */
export async function restoreAppendedPgRows(client: pg.Client, generation: string, archiveSha256: string): Promise<TailRow[]> {
  const r = await client.query<{ id: string; action: string; prev_row_hmac: string | null; metadata: string }>(
    `SELECT id::text AS id, action, prev_row_hmac, metadata::text AS metadata FROM public.audit_log
     WHERE NOT legacy_frozen AND chain_generation = $1::uuid ORDER BY occurred_at DESC, id DESC LIMIT 1`,
    [generation],
  );
  const row = r.rows[0];
  return thisDrillsRestoreRow(row && { id: row.id, action: row.action, prevRowHmac: row.prev_row_hmac, metadata: row.metadata }, archiveSha256);
}
