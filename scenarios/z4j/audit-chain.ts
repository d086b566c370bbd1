import { createHmac } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { ChainKey, ChainRow } from '../../harness/checks/hmac-chain.ts';
import { pythonCanonicalJson } from '../../harness/checks/python-json.ts';

/**
 * z4j's authenticated audit chain (row hmac_version 2, z4j >= 1.8), as the
 * installed z4j_brain computes it:
 * - key: the raw UTF-8 bytes of Z4J_AUDIT_CHAIN_SECRET; its id is
 *   HMAC(key, "z4j/audit-chain/key-id/v1\0") and each row records it;
 * - message: "z4j/audit-chain/row/v2\0" + json.dumps(payload, sort_keys=True,
 *   separators=(",", ":"), ensure_ascii=False) over the row's fields;
 * - chain: the active generation's rows (legacy_frozen = 0) ordered by
 *   occurred_at, id; the first links to audit_chain_state.prune_row_hmac (NULL
 *   until retention prunes the genesis), each later one to the row before.
 */
export const CHAIN_SECRET_NAME = 'Z4J_AUDIT_CHAIN_SECRET';
const ROW_PREFIX = 'z4j/audit-chain/row/v2\0';
const KEY_ID_LABEL = 'z4j/audit-chain/key-id/v1\0';

export function chainKey(secret: string): ChainKey & { id: string } {
  const key = Buffer.from(secret, 'utf8');
  return { key, id: createHmac('sha256', key).update(KEY_ID_LABEL).digest('hex') };
}

export interface ChainState {
  generation: string;
  pruneRowHmac: string | null;
  headRowHmac: string | null;
  activeRowCount: number | null;
}

export function readChainState(db: Database.Database): ChainState | undefined {
  if (!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_chain_state'").get()) return undefined;
  const r = db.prepare('SELECT generation, prune_row_hmac, head_row_hmac, active_row_count FROM audit_chain_state').get() as
    | { generation: string; prune_row_hmac: string | null; head_row_hmac: string | null; active_row_count: number | null }
    | undefined;
  return r && { generation: r.generation, pruneRowHmac: r.prune_row_hmac, headRowHmac: r.head_row_hmac, activeRowCount: r.active_row_count };
}

export interface AuditRow {
  id: string;
  action: string;
  target_type: string;
  target_id: string | null;
  result: string;
  outcome: string | null;
  event_id: string | null;
  user_id: string | null;
  api_key_id: string | null;
  project_id: string | null;
  source_ip: string | null;
  user_agent: string | null;
  metadata: string;
  occurred_at: string;
  prev_row_hmac: string | null;
  row_hmac: string;
  hmac_key_id: string | null;
  hmac_version: number;
  chain_generation: string;
}

/** SQL for a uuid column as z4j signs it: dashed, quoted, or null. */
function sqlUuid(col: string): string {
  return `CASE WHEN ${col} IS NULL THEN 'null' WHEN length(${col}) = 32 THEN '"' || lower(substr(${col},1,8) || '-' || substr(${col},9,4) || '-' || substr(${col},13,4) || '-' || substr(${col},17,4) || '-' || substr(${col},21)) || '"' ELSE json_quote(${col}) END`;
}

/**
 * SQLite builds everything of the signed JSON but the metadata (whose keys
 * need sorting) and, for non-standard timestamps, the time: the walk's hot loop
 * then only joins three strings and computes one HMAC per row.
 */
const CHAIN_SQL = `SELECT id, row_hmac, prev_row_hmac, hmac_key_id, metadata,
  '{"action":' || json_quote(action) || ',"api_key_id":' || ${sqlUuid('api_key_id')} || ',"chain_generation":' || ${sqlUuid('chain_generation')} ||
  ',"event_id":' || ${sqlUuid('event_id')} || ',"hmac_key_id":' || json_quote(hmac_key_id) || ',"id":' || ${sqlUuid('id')} || ',"metadata":' AS head,
  CASE WHEN occurred_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]'
    THEN ',"occurred_at":"' || substr(occurred_at,1,10) || 'T' || substr(occurred_at,12) || '+00:00"' END AS at,
  occurred_at,
  ',"outcome":' || json_quote(outcome) || ',"prev_row_hmac":' || json_quote(prev_row_hmac) || ',"project_id":' || ${sqlUuid('project_id')} ||
  ',"result":' || json_quote(result) || ',"source_ip":' || json_quote(source_ip) || ',"target_id":' || json_quote(target_id) ||
  ',"target_type":' || json_quote(target_type) || ',"user_agent":' || json_quote(user_agent) || ',"user_id":' || ${sqlUuid('user_id')} ||
  ',"version":' || CAST(hmac_version AS TEXT) || '}' AS tail
FROM audit_log WHERE legacy_frozen = 0 AND chain_generation = ?`;

/** A slice of the chain in (occurred_at, id) order: from `from` (inclusive) to `to` (exclusive). */
export interface ChainRange {
  from?: [string, string];
  to?: [string, string];
}

/** Streams the active generation's rows in chain order, each with the message z4j signed. */
export function* chainRows(db: Database.Database, generation: string, range: ChainRange = {}): Generator<ChainRow> {
  const where = `${range.from ? ' AND (occurred_at, id) >= (?, ?)' : ''}${range.to ? ' AND (occurred_at, id) < (?, ?)' : ''}`;
  const stmt = db.prepare(`${CHAIN_SQL}${where} ORDER BY occurred_at, id`).raw(true);
  for (const r of stmt.iterate(generation, ...(range.from ?? []), ...(range.to ?? [])) as Iterable<[string, string, string | null, string | null, string, string, string | null, string, string]>) {
    const at = r[6] ?? `,"occurred_at":${JSON.stringify(utcIsoMicros(r[7]))}`;
    yield { id: uuid(r[0])!, rowHmac: r[1], prevHmac: r[2], keyId: r[3], message: ROW_PREFIX + r[5] + pythonCanonicalJson(r[4]) + at + r[8] };
  }
}

/** The signed message built in JavaScript from a row (fixtures; the reference for CHAIN_SQL). */
export function rowMessage(r: AuditRow): string {
  const s = JSON.stringify;
  return (
    ROW_PREFIX +
    `{"action":${s(r.action)},"api_key_id":${str(uuid(r.api_key_id))},"chain_generation":${str(uuid(r.chain_generation))},` +
    `"event_id":${str(uuid(r.event_id))},"hmac_key_id":${str(r.hmac_key_id)},"id":${str(uuid(r.id))},` +
    `"metadata":${pythonCanonicalJson(r.metadata)},"occurred_at":${s(utcIsoMicros(r.occurred_at))},"outcome":${str(r.outcome)},` +
    `"prev_row_hmac":${str(r.prev_row_hmac)},"project_id":${str(uuid(r.project_id))},"result":${s(r.result)},` +
    `"source_ip":${str(r.source_ip)},"target_id":${str(r.target_id)},"target_type":${s(r.target_type)},` +
    `"user_agent":${str(r.user_agent)},"user_id":${str(uuid(r.user_id))},"version":${r.hmac_version}}`
  );
}

function str(v: string | null): string {
  return v === null ? 'null' : JSON.stringify(v);
}

/** SQLite stores uuids as 32 hex digits; z4j signs them in the dashed form. */
export function uuid(hex: string | null): string | null {
  if (hex === null) return null;
  if (hex.length !== 32) return hex;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`.toLowerCase();
}

/**
 * Python's datetime.isoformat(timespec="microseconds") of a stored timestamp
 * taken as UTC: "2026-11-22 01:47:07.5698" -> "2026-11-22T01:47:07.569800+00:00".
 * Pure text and UTC arithmetic: the host's time zone never enters.
 */
export function utcIsoMicros(stored: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:?\d{2})?$/.exec(stored.trim());
  if (!m) throw new Error(`unrecognised timestamp ${JSON.stringify(stored)}`);
  const micros = (m[7] ?? '').padEnd(6, '0');
  const tz = m[8];
  if (!tz || tz === 'Z' || /^[+-]00:?00$/.test(tz)) {
    return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${micros}+00:00`;
  }
  const sign = tz[0] === '-' ? -1 : 1;
  const [oh, om] = [Number(tz.slice(1, 3)), Number(tz.slice(-2))];
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) - sign * (oh * 60 + om) * 60_000;
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}T${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${micros}+00:00`;
}

/** Keys (occurred_at, id) that cut the chain into `parts` slices of about equal length. */
export function chainCuts(db: Database.Database, generation: string, length: number, parts: number): Array<[string, string]> {
  const stmt = db.prepare('SELECT occurred_at, id FROM audit_log WHERE legacy_frozen = 0 AND chain_generation = ? ORDER BY occurred_at, id LIMIT 1 OFFSET ?').raw(true);
  const cuts: Array<[string, string]> = [];
  for (let k = 1; k < parts; k++) {
    const r = stmt.get(generation, Math.floor((length * k) / parts)) as [string, string] | undefined;
    if (r) cuts.push(r);
  }
  return cuts;
}
