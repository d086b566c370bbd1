import type Database from 'better-sqlite3';
import { ChainWalker, HMAC_BLOCK, walkChain, type ChainKey } from '../../../harness/checks/hmac-chain.ts';
import { pythonCanonicalJson } from '../../../harness/checks/python-json.ts';
import { intColumn, isText, SqlitePages, UnsupportedFile, type PageCache, type RawRecord } from '../../../harness/checks/sqlite-pages.ts';
import type { ChainObservation } from '../../../harness/model/types.ts';
import { ChainOrderCheck, ChainOrderError, chainRowsInRowidOrder, quotedUuid, ROW_PREFIX, type RowidSlice, type SliceEnds, str, utcIsoMicros, uuid } from '../audit-chain.ts';

/**
 * The chain walk reading audit_log's pages directly (harness/checks/sqlite-pages.ts)
 * and writing each signed message straight into one reused buffer from the
 * stored bytes, instead of having SQLite materialise 19 strings per row and
 * joining them. It signs exactly what chainRowsInRowidOrder's messageOf
 * builds: the usual shapes (hex uuids, plain ASCII text, the stored UTC
 * timestamp) are copied byte for byte, anything else goes through the same
 * JavaScript helpers on the decoded text, and metadata always through
 * pythonCanonicalJson. Throws UnsupportedFile where the file or a row is
 * outside what it models, and ChainOrderError like the SQLite reader: callers
 * then walk with SQLite.
 */

/** The audit_log columns the walk reads (message fields, links, the filter). */
const COLUMNS = [
  'id', 'row_hmac', 'prev_row_hmac', 'hmac_key_id', 'metadata', 'action', 'api_key_id', 'chain_generation', 'event_id', 'occurred_at',
  'outcome', 'project_id', 'result', 'source_ip', 'target_id', 'target_type', 'user_agent', 'user_id', 'hmac_version', 'legacy_frozen',
] as const;
type Column = (typeof COLUMNS)[number];

/** Where audit_log lives in the file and where each column sits in its records. */
export interface AuditLayout {
  rootPage: number;
  columns: Record<Column, number>;
  width: number;
}

/** Read from the schema; undefined when the table's layout is not a plain rowid table with every column stored. */
export function auditLayout(db: Database.Database): AuditLayout | undefined {
  const t = db.prepare("SELECT rootpage, sql FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'").get() as { rootpage: number; sql: string } | undefined;
  if (!t || /without\s+rowid/i.test(t.sql)) return undefined;
  const info = db.prepare('PRAGMA table_xinfo(audit_log)').all() as Array<{ cid: number; name: string; type: string; pk: number; hidden: number }>;
  // Generated or hidden columns shift record positions; an INTEGER PRIMARY KEY is stored as the rowid, not in the record.
  if (info.some((c) => c.hidden !== 0)) return undefined;
  const pks = info.filter((c) => c.pk > 0);
  const rowidAlias = pks.length === 1 && pks[0]!.type.toUpperCase() === 'INTEGER' ? pks[0]!.name : undefined;
  const columns = {} as Record<Column, number>;
  for (const name of COLUMNS) {
    const c = info.find((x) => x.name === name);
    if (!c || c.name === rowidAlias) return undefined;
    columns[name] = c.cid;
  }
  return { rootPage: t.rootpage, columns, width: info.length };
}

const enc = (s: string) => Buffer.from(s, 'utf8');
/** How a payload field is written (the SQLite reader's helper for it in messageOf). */
export type Kind = 'text' | 'text?' | 'uuid' | 'metadata' | 'timestamp' | 'int';
/** The signed payload's fields in its (sorted) key order, each with the column it comes from. */
export const MESSAGE = (
  [
    ['action', 'action', 'text'], ['api_key_id', 'api_key_id', 'uuid'], ['chain_generation', 'chain_generation', 'uuid'], ['event_id', 'event_id', 'uuid'],
    ['hmac_key_id', 'hmac_key_id', 'text?'], ['id', 'id', 'uuid'], ['metadata', 'metadata', 'metadata'], ['occurred_at', 'occurred_at', 'timestamp'],
    ['outcome', 'outcome', 'text?'], ['prev_row_hmac', 'prev_row_hmac', 'text?'], ['project_id', 'project_id', 'uuid'], ['result', 'result', 'text'],
    ['source_ip', 'source_ip', 'text?'], ['target_id', 'target_id', 'text?'], ['target_type', 'target_type', 'text'], ['user_agent', 'user_agent', 'text?'],
    ['user_id', 'user_id', 'uuid'], ['version', 'hmac_version', 'int'],
  ] as const satisfies ReadonlyArray<readonly [string, Column, Kind]>
).map(([name, column, kind], i) => ({ prefix: enc(`${i === 0 ? `${ROW_PREFIX}{` : ','}"${name}":`), column, kind }));
export const END = enc('}');
const NULL_BYTES = enc('null');

/** Builds one message at a time in a reused buffer (growing it keeps what is written, the free bytes in front included). */
class MessageBuffer {
  buf = Buffer.allocUnsafe(64 * 1024);
  pos = 0;

  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  text(s: string): void {
    this.reserve(s.length * 3);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }
}

const NOT_PLAIN = -1;

/**
 * Copies a text column as a JSON string when its bytes need no escaping and
 * are plain ASCII (JSON.stringify would leave them as they are); returns
 * NOT_PLAIN, having written nothing, otherwise.
 */
function plainQuoted(out: MessageBuffer, src: Buffer, o: number, len: number): number {
  out.reserve(len + 2);
  const dst = out.buf;
  let p = out.pos;
  dst[p++] = 0x22;
  for (let i = 0; i < len; i++) {
    const b = src[o + i]!;
    if (b < 0x20 || b > 0x7e || b === 0x22 || b === 0x5c) return NOT_PLAIN;
    dst[p++] = b;
  }
  dst[p++] = 0x22;
  out.pos = p;
  return p;
}

const HEX = new Uint8Array(256);
for (const c of '0123456789abcdef') HEX[c.charCodeAt(0)] = 1;

/** A 32-digit lower-case hex uuid copied in its dashed form; NOT_PLAIN for any other text. */
function plainUuid(out: MessageBuffer, src: Buffer, o: number, len: number): number {
  if (len !== 32) return NOT_PLAIN;
  out.reserve(38);
  const dst = out.buf;
  let p = out.pos;
  dst[p++] = 0x22;
  for (let i = 0; i < 32; i++) {
    const b = src[o + i]!;
    if (HEX[b] !== 1) return NOT_PLAIN;
    if (i === 8 || i === 12 || i === 16 || i === 20) dst[p++] = 0x2d;
    dst[p++] = b;
  }
  dst[p++] = 0x22;
  out.pos = p;
  return p;
}

const STORED_UTC_SHAPE = 'dddd-dd-dd dd:dd:dd.dddddd';

/** "YYYY-MM-DD HH:MM:SS.ffffff" copied as "YYYY-MM-DDTHH:MM:SS.ffffff+00:00" (utcIsoMicros' own fast path); NOT_PLAIN otherwise. */
function plainTimestamp(out: MessageBuffer, src: Buffer, o: number, len: number): number {
  if (len !== 26) return NOT_PLAIN;
  for (let i = 0; i < 26; i++) {
    const b = src[o + i]!;
    const want = STORED_UTC_SHAPE.charCodeAt(i);
    if (want === 0x64 ? b < 0x30 || b > 0x39 : b !== want) return NOT_PLAIN;
  }
  out.reserve(34);
  const dst = out.buf;
  let p = out.pos;
  dst[p++] = 0x22;
  src.copy(dst, p, o, o + 10);
  dst[p + 10] = 0x54; // T
  src.copy(dst, p + 11, o + 11, o + 26);
  p += 26;
  for (const c of '+00:00"') dst[p++] = c.charCodeAt(0);
  out.pos = p;
  return p;
}

/** A column's text (UTF-8), null for NULL; any other storage class is outside the model. */
function textOrNull(r: RawRecord, col: number): string | null {
  const t = r.types[col]!;
  if (t === 0) return null;
  if (!isText(t)) throw new UnsupportedFile(`row ${r.rowid}: a ${storageClass(t)} where text is stored`);
  const o = r.offsets[col]!;
  return r.buf.toString('utf8', o, o + ((t - 13) >> 1));
}

function storageClass(t: number): string {
  return t === 0 ? 'NULL' : t === 7 ? 'float' : t < 12 ? 'integer' : t & 1 ? 'text' : 'blob';
}

/** One column into the message: NULL as null, the plain shapes copied, the rest through the SQLite reader's helper. */
function writeField(out: MessageBuffer, r: RawRecord, col: number, kind: Kind): void {
  const t = r.types[col]!;
  const o = r.offsets[col]!;
  const len = (t - 13) >> 1;
  switch (kind) {
    case 'int': {
      const v = intColumn(r, col);
      if (v === undefined) throw new UnsupportedFile(`row ${r.rowid}: an integer column holds a ${storageClass(t)}`);
      return out.text(String(v));
    }
    case 'metadata':
      return out.text(pythonCanonicalJson(required(r, col)));
    case 'timestamp':
      if (isText(t) && plainTimestamp(out, r.buf, o, len) !== NOT_PLAIN) return;
      return out.text(`"${utcIsoMicros(required(r, col))}"`);
    case 'uuid':
      if (t === 0) return out.bytes(NULL_BYTES);
      if (isText(t) && plainUuid(out, r.buf, o, len) !== NOT_PLAIN) return;
      return out.text(quotedUuid(textOrNull(r, col)));
    case 'text?':
      if (t === 0) return out.bytes(NULL_BYTES);
      if (isText(t) && plainQuoted(out, r.buf, o, len) !== NOT_PLAIN) return;
      return out.text(str(textOrNull(r, col)));
    case 'text':
      if (isText(t) && plainQuoted(out, r.buf, o, len) !== NOT_PLAIN) return;
      return out.text(JSON.stringify(required(r, col)));
  }
}

function required(r: RawRecord, col: number): string {
  const v = textOrNull(r, col);
  if (v === null) throw new UnsupportedFile(`row ${r.rowid}: NULL in a column the message needs`);
  return v;
}

/** Walks the rows of one rowid slice straight from the pages, checking they come in chain order like chainRowsInRowidOrder. */
export function walkPages(
  path: string, layout: AuditLayout, generation: string, keys: ChainKey[], slice: RowidSlice = {}, ends: SliceEnds = {}, cache?: PageCache,
): ChainObservation {
  const pages = new SqlitePages(path, Math.max(64, layout.width), cache);
  try {
    const walker = new ChainWalker({ table: 'audit_log', keys });
    const out = new MessageBuffer();
    const c = layout.columns;
    const gen = Buffer.from(generation, 'utf8');
    const order = new ChainOrderCheck(ends);
    pages.scan(
      layout.rootPage,
      (r) => {
        if (r.columns !== layout.width) throw new UnsupportedFile(`row ${r.rowid}: ${r.columns} columns stored, the table has ${layout.width}`);
        // The SQLite reader's filter: legacy_frozen = 0 AND chain_generation = ?.
        const frozen = intColumn(r, c.legacy_frozen);
        if (frozen === undefined) throw new UnsupportedFile(`row ${r.rowid}: legacy_frozen is not an integer`);
        if (frozen !== 0) return;
        const gt = r.types[c.chain_generation]!;
        if (gt === 0) return;
        if (!isText(gt)) throw new UnsupportedFile(`row ${r.rowid}: chain_generation is not text`);
        const go = r.offsets[c.chain_generation]!;
        if ((gt - 13) >> 1 !== gen.length || r.buf.compare(gen, 0, gen.length, go, go + gen.length) !== 0) return;

        const id = textOrNull(r, c.id);
        order.next(textOrNull(r, c.occurred_at), id);

        const rowHmac = textOrNull(r, c.row_hmac);
        if (rowHmac === null) throw new UnsupportedFile(`row ${r.rowid}: row_hmac is NULL`);
        const prevHmac = textOrNull(r, c.prev_row_hmac);
        const keyId = textOrNull(r, c.hmac_key_id);

        // The message starts HMAC_BLOCK bytes in: the walk puts the key's inner pad in front and hashes in one call.
        out.pos = HMAC_BLOCK;
        for (const f of MESSAGE) {
          out.bytes(f.prefix);
          writeField(out, r, c[f.column], f.kind);
        }
        out.bytes(END);

        walker.push({ id: uuid(id as string)!, rowHmac, prevHmac, keyId, message: { buf: out.buf, end: out.pos } });
      },
      slice.lo,
      slice.hi,
    );
    order.done();
    return walker.result();
  } finally {
    pages.close();
  }
}


/**
 * One rowid slice of the chain (all of it by default): from the pages where
 * the file is one the page reader models, else with SQLite's table scan. The
 * page reader only ever speeds a walk up: whatever else stops it (a file it
 * does not model, a damaged page, text it cannot rebuild) sends the slice to
 * SQLite's scan from the start, which then decides exactly as it did without
 * the page reader. Rows out of chain order throw ChainOrderError from either.
 */
export function walkRowidSlice(db: Database.Database, generation: string, keys: ChainKey[], slice: RowidSlice = {}, ends: SliceEnds = {}): ChainObservation {
  const layout = db.memory ? undefined : auditLayout(db);
  if (layout) {
    try {
      return walkPages(db.name, layout, generation, keys, slice, ends);
    } catch (e) {
      // Rows out of chain order by the same check SQLite's scan makes (ChainOrderCheck): scanning
      // again would only find it again; the caller goes to the ordered query.
      if (e instanceof ChainOrderError) throw e;
      delete ends.first;
      delete ends.last;
    }
  }
  return walkChain(chainRowsInRowidOrder(db, generation, slice, ends), { table: 'audit_log', keys });
}
