import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { SQLITE_MAGIC } from './sqlite-db.ts';
import { pageSizeOf } from './sqlite-wal.ts';

/**
 * A rowid table of a SQLite file read straight from its pages: the table's
 * B-tree walked in rowid order, each row's record handed over as bytes
 * without building a JavaScript value per column. For scans where
 * materialising every column is most of the cost (a chain walk over millions
 * of rows). It reads only what SQLite itself would read for a table scan, and
 * refuses (throws UnsupportedFile) whatever it does not model: a write-ahead
 * log, a text encoding other than UTF-8, a page layout it does not recognise.
 * Callers then fall back to SQLite. It never writes.
 */
export class UnsupportedFile extends Error {}

const LEAF_TABLE = 0x0d;
const INTERIOR_TABLE = 0x05;
/** How many pages are read at a time, and how many such chunks are kept (their buffers are recycled). */
export interface PageCache {
  chunkPages: number;
  chunksKept: number;
}
const DEFAULT_CACHE: PageCache = { chunkPages: 64, chunksKept: 8 };

/** One row's record: its payload bytes, and per column the serial type and where its content starts. */
export interface RawRecord {
  rowid: number;
  /** The buffer holding the payload (a page chunk, or an assembled copy for a row spilling onto overflow pages). */
  buf: Buffer;
  columns: number;
  /** SQLite serial type of each column (0 NULL, 1-6 integers, 7 float, 8/9 the constants 0/1, >= 12 blob or text). */
  types: Int32Array;
  /** Offset of each column's content in buf. */
  offsets: Int32Array;
}

export class SqlitePages {
  readonly pageSize: number;
  readonly usable: number;
  readonly pageCount: number;
  #fd: number;
  #chunks = new Map<number, Buffer>();
  #maxColumns: number;
  #record: RawRecord;
  #cache: PageCache;

  constructor(path: string, maxColumns = 64, cache: PageCache = DEFAULT_CACHE) {
    this.#cache = cache;
    // A write-ahead log or a rollback journal beside the file may change what SQLite reads: not modelled here.
    for (const side of ['-wal', '-journal']) {
      if ((statSync(path + side, { throwIfNoEntry: false })?.size ?? 0) > 0) throw new UnsupportedFile(`a ${side.slice(1)} file lies beside the database`);
    }
    this.#fd = openSync(path, 'r');
    try {
      const head = Buffer.alloc(100);
      if (readSync(this.#fd, head, 0, 100, 0) !== 100 || !head.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC)) throw new UnsupportedFile('not a SQLite database file');
      const pageSize = pageSizeOf(head.readUInt16BE(16));
      if (pageSize === undefined) throw new UnsupportedFile(`page size ${head.readUInt16BE(16)}`);
      this.pageSize = pageSize;
      // Write/read format versions 2 mean WAL mode: the WAL, not this file, may hold the newest pages.
      if (head[18] !== 1 || head[19] !== 1) throw new UnsupportedFile('the file is in WAL mode');
      if (head.readUInt32BE(56) !== 1) throw new UnsupportedFile('text encoding is not UTF-8');
      this.usable = this.pageSize - head[20]!;
      if (this.usable < 480) throw new UnsupportedFile('too many reserved bytes per page');
      const size = fstatSync(this.#fd).size;
      this.pageCount = Math.floor(size / this.pageSize);
      if (this.pageCount * this.pageSize !== size) throw new UnsupportedFile('the file is not a whole number of pages');
      // The header's page count is valid only when its change counter matches (SQLite's own rule); then it must agree with the file.
      if (head.readUInt32BE(24) === head.readUInt32BE(92) && head.readUInt32BE(28) !== this.pageCount) throw new UnsupportedFile('the header and the file disagree on the page count');
    } catch (e) {
      closeSync(this.#fd);
      throw e;
    }
    this.#maxColumns = maxColumns;
    this.#record = { rowid: 0, buf: Buffer.alloc(0), columns: 0, types: new Int32Array(maxColumns), offsets: new Int32Array(maxColumns) };
  }

  close(): void {
    closeSync(this.#fd);
    this.#chunks.clear();
  }

  /** Page n (1-based) and its offset in the returned buffer. */
  #page(n: number): [Buffer, number] {
    if (n < 1 || n > this.pageCount) throw new UnsupportedFile(`page ${n} is outside the file`);
    const { chunkPages, chunksKept } = this.#cache;
    const c = Math.floor((n - 1) / chunkPages);
    let buf = this.#chunks.get(c);
    if (!buf) {
      // The oldest chunk's buffer is reused: a scan of gigabytes allocates nothing (fresh buffers
      // outran the garbage collector in worker threads with a small heap, and memory grew).
      let spare: Buffer | undefined;
      if (this.#chunks.size >= chunksKept) {
        const oldest = this.#chunks.keys().next().value!;
        spare = this.#chunks.get(oldest);
        this.#chunks.delete(oldest);
      }
      const bytes = Math.min(chunkPages, this.pageCount - c * chunkPages) * this.pageSize;
      buf = spare && spare.length === bytes ? spare : Buffer.allocUnsafe(bytes);
      const got = readSync(this.#fd, buf, 0, bytes, c * chunkPages * this.pageSize);
      if (got !== bytes) throw new UnsupportedFile('short read');
      this.#chunks.set(c, buf);
    }
    return [buf, ((n - 1) % chunkPages) * this.pageSize];
  }

  /**
   * Calls onRow for every row of the table rooted at rootPage with lo <= rowid < hi, in rowid order.
   * The record passed is reused between calls: read it before returning.
   */
  scan(rootPage: number, onRow: (r: RawRecord) => void, lo = -Infinity, hi = Infinity): void {
    this.#visit(rootPage, onRow, lo, hi, 0);
  }

  #visit(pageNo: number, onRow: (r: RawRecord) => void, lo: number, hi: number, depth: number): void {
    if (depth > 40) throw new UnsupportedFile('the table tree is deeper than any real one');
    let [buf, base] = this.#page(pageNo);
    let hdr = base + (pageNo === 1 ? 100 : 0);
    const kind = buf[hdr];
    const cells = buf.readUInt16BE(hdr + 3);
    // The cell pointer array must fit in the page (a damaged count would read the next page's bytes as cells).
    if (hdr - base + (kind === INTERIOR_TABLE ? 12 : 8) + 2 * cells > this.pageSize) throw new UnsupportedFile(`page ${pageNo} claims more cells than fit`);
    if (kind === INTERIOR_TABLE) {
      // Its own copy: reading the children recycles the chunk buffers, this page's included.
      [buf, base, hdr] = this.#ownCopy(buf, base, hdr);
      const ptrs = hdr + 12;
      for (let i = 0; i < cells; i++) {
        const at = buf.readUInt16BE(ptrs + 2 * i);
        if (at < ptrs - base + 2 * cells || at > this.pageSize - 5) throw new UnsupportedFile(`page ${pageNo}: a cell pointer outside the cell area`);
        const cell = base + at;
        const child = buf.readUInt32BE(cell);
        // The left child holds rowids <= key: skip it when the whole of it lies below lo.
        const key = varint(buf, cell + 4)[0];
        if (!Number.isSafeInteger(key)) throw new UnsupportedFile(`page ${pageNo}: a rowid beyond 2^53 or negative`);
        if (key >= lo) this.#visit(child, onRow, lo, hi, depth + 1);
        if (key >= hi) return;
      }
      this.#visit(buf.readUInt32BE(hdr + 8), onRow, lo, hi, depth + 1);
      return;
    }
    if (kind !== LEAF_TABLE) throw new UnsupportedFile(`page ${pageNo} is not a table page (type ${kind})`);
    let ptrs = hdr + 8;
    let copied = false;
    const rec = this.#record;
    for (let i = 0; i < cells; i++) {
      const at = buf.readUInt16BE(ptrs + 2 * i);
      if (at < ptrs - base + 2 * cells || at > this.pageSize - 4) throw new UnsupportedFile(`page ${pageNo}: a cell pointer outside the cell area`);
      let p = base + at;
      const [size, n1] = varint(buf, p);
      p += n1;
      const [rowid, n2] = varint(buf, p);
      p += n2;
      if (!Number.isSafeInteger(rowid)) throw new UnsupportedFile(`page ${pageNo}: a rowid beyond 2^53 or negative`);
      if (rowid < lo) continue;
      if (rowid >= hi) return;
      rec.rowid = rowid;
      // A damaged size must not become an allocation: no payload is larger than the file's pages hold.
      if (size > this.pageCount * this.usable) throw new UnsupportedFile(`page ${pageNo}: a payload larger than the file`);
      const local = this.#localBytes(size);
      if (local === size) {
        if (p + size > base + this.pageSize) throw new UnsupportedFile(`a cell on page ${pageNo} runs past the page`);
        rec.buf = buf;
        this.#decodeRecord(rec, p, size);
      } else {
        // Overflow pages are about to be read, which may recycle this page's chunk: go on from a copy.
        if (!copied) {
          const shift = base;
          [buf, base, hdr] = this.#ownCopy(buf, base, hdr);
          p -= shift;
          ptrs -= shift;
          copied = true;
        }
        if (p + local + 4 > base + this.pageSize) throw new UnsupportedFile(`a cell on page ${pageNo} runs past the page`);
        rec.buf = this.#assemble(buf, p, local, size, buf.readUInt32BE(p + local));
        this.#decodeRecord(rec, 0, size);
      }
      onRow(rec);
    }
  }

  /** A page copied out of its chunk: [buffer, page start (0), header offset]. */
  #ownCopy(buf: Buffer, base: number, hdr: number): [Buffer, number, number] {
    return [Buffer.from(buf.subarray(base, base + this.pageSize)), 0, hdr - base];
  }

  /** How much of a payload of `size` bytes a table leaf keeps on the page (SQLite's file format, section 1.6). */
  #localBytes(size: number): number {
    const x = this.usable - 35;
    if (size <= x) return size;
    const m = Math.floor(((this.usable - 12) * 32) / 255) - 23;
    const k = m + ((size - m) % (this.usable - 4));
    return k <= x ? k : m;
  }

  /** A payload spilling onto overflow pages, copied together. */
  #assemble(buf: Buffer, p: number, local: number, size: number, next: number): Buffer {
    const out = Buffer.allocUnsafe(size);
    buf.copy(out, 0, p, p + local);
    let have = local;
    let hops = 0;
    while (have < size) {
      if (next === 0 || ++hops > this.pageCount) throw new UnsupportedFile('an overflow chain ends early or loops');
      const [ob, ob0] = this.#page(next);
      const take = Math.min(size - have, this.usable - 4);
      ob.copy(out, have, ob0 + 4, ob0 + 4 + take);
      have += take;
      next = ob.readUInt32BE(ob0);
    }
    return out;
  }

  #decodeRecord(rec: RawRecord, start: number, size: number): void {
    const buf = rec.buf;
    const [headerSize, n] = varint(buf, start);
    if (headerSize > size || headerSize < n) throw new UnsupportedFile(`row ${rec.rowid}: a record header larger than its record`);
    let h = start + n;
    let body = start + headerSize;
    let col = 0;
    while (h < start + headerSize) {
      if (col >= this.#maxColumns) throw new UnsupportedFile(`row ${rec.rowid}: more columns than expected`);
      const [t, m] = varint(buf, h);
      h += m;
      rec.types[col] = t;
      rec.offsets[col] = body;
      body += serialLength(t);
      col++;
    }
    if (body !== start + size) throw new UnsupportedFile(`row ${rec.rowid}: the record's columns do not fill its payload`);
    rec.columns = col;
  }
}

const INT_BYTES = [0, 1, 2, 3, 4, 6, 8, 8, 0, 0];

function serialLength(t: number): number {
  if (t < 10) return INT_BYTES[t]!;
  if (t < 12) throw new UnsupportedFile(`reserved serial type ${t}`);
  return (t - 12) >> 1;
}

/** Whether serial type t is text. */
export function isText(t: number): boolean {
  return t >= 13 && (t & 1) === 1;
}

/** The integer in a column of integer serial type (1-6, 8, 9); undefined for any other type. */
export function intColumn(rec: RawRecord, col: number): number | undefined {
  const t = rec.types[col]!;
  const o = rec.offsets[col]!;
  const b = rec.buf;
  switch (t) {
    case 8: return 0;
    case 9: return 1;
    case 1: return b.readInt8(o);
    case 2: return b.readInt16BE(o);
    case 3: return b.readIntBE(o, 3);
    case 4: return b.readInt32BE(o);
    case 5: return b.readIntBE(o, 6);
    case 6: {
      const v = b.readBigInt64BE(o);
      return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
    }
    default: return undefined;
  }
}

const VARINT_OUT: [number, number] = [0, 0];

/** SQLite's big-endian varint at p: [value, bytes]. Values beyond 2^53 lose precision (rowids and sizes never reach it here). */
export function varint(buf: Buffer, p: number): [number, number] {
  let v = 0;
  for (let i = 0; i < 8; i++) {
    const b = buf[p + i]!;
    v = v * 128 + (b & 0x7f);
    if (b < 0x80) {
      VARINT_OUT[0] = v;
      VARINT_OUT[1] = i + 1;
      return VARINT_OUT;
    }
  }
  VARINT_OUT[0] = v * 256 + buf[p + 8]!;
  VARINT_OUT[1] = 9;
  return VARINT_OUT;
}
