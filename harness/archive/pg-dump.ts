import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/**
 * The header and table of contents of a PostgreSQL custom-format dump
 * (`pg_dump -Fc`), read in TypeScript so a drill can look inside an archive
 * before any server starts, and without trusting it: every length is bounded,
 * every read is checked against the file's end, and a malformed or cut-off
 * file is a DumpFormatError that says where it broke.
 *
 * Layout (PostgreSQL's pg_backup_archiver.c ReadHead/ReadToc and
 * pg_backup_custom.c): "PGDMP", format version (3 bytes), int and offset
 * sizes, format byte, the compression (algorithm byte from 1.15, an int
 * level before), the creation time (7 ints), database name, server version,
 * pg_dump version; then the TOC entries; then the data blocks.
 */

export const PGDMP_MAGIC = Buffer.from('PGDMP', 'latin1');

/** Archive format byte values: only custom is read here. */
const ARCH_CUSTOM = 1;
/** Oldest and newest archive versions this reader knows (1.12 is PostgreSQL 9.0, 1.16 PostgreSQL 17 and 18). */
const MIN_VERSION = v(1, 12);
const MAX_VERSION = v(1, 16, 255);

/** Offset flags (K_OFFSET_*): where a TOC entry's data is. */
export type DataState = 'position-not-set' | 'position-set' | 'no-data';
const OFFSET_FLAGS: Record<number, DataState> = { 1: 'position-not-set', 2: 'position-set', 3: 'no-data' };

export type Compression = 'none' | 'gzip' | 'lz4' | 'zstd';
const ALGORITHMS: Compression[] = ['none', 'gzip', 'lz4', 'zstd'];

/** Bounds that keep a hostile file from making the reader allocate or loop without end. */
const MAX_STRING = 64 * 1024 * 1024;
const MAX_ENTRIES = 1_000_000;
const MAX_DEPS = 100_000;

export interface TocEntry {
  dumpId: number;
  /** Whether pg_dump had a data dumper for it (TABLE DATA, BLOBS...). */
  hadDumper: boolean;
  tag: string;
  /** The entry's kind: "TABLE", "TABLE DATA", "INDEX", "EXTENSION"... */
  desc: string;
  namespace: string | null;
  section: number;
  /** For TABLE DATA: the COPY statement, which names the columns in data order. */
  copyStmt: string | null;
  dependencies: number[];
  dataState: DataState;
  /** Byte offset of the entry's data block, when pg_dump could record it (seekable output). */
  dataPos?: number;
}

export interface DumpHeader {
  /** Archive format version, e.g. "1.16.0". */
  formatVersion: string;
  intSize: number;
  offSize: number;
  compression: Compression;
  /** Compression level before format 1.15 (which records only the algorithm). */
  compressionLevel?: number;
  /** When pg_dump started, as the archive records it (its local time fields, no zone). */
  createdAt: string;
  database: string | null;
  /** The server that was dumped, e.g. "17.11 (Debian 17.11-0+deb13u1)". */
  serverVersion: string | null;
  /** The pg_dump that made the archive. */
  dumpVersion: string | null;
}

export interface DumpToc {
  header: DumpHeader;
  entries: TocEntry[];
  /** Where the data blocks start (just after the TOC). */
  dataStart: number;
  fileSize: number;
}

export class DumpFormatError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
    this.name = 'DumpFormatError';
  }
}

/** Column names of a TOC entry's COPY statement ("COPY public.t (a, \"B\") FROM stdin;"), in data order. */
export function copyColumns(copyStmt: string | null): string[] {
  const m = /\((.*)\)\s+FROM stdin/s.exec(copyStmt ?? '');
  if (!m) return [];
  return m[1]!.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1').replace(/""/g, '"'));
}

/** One COPY text line's fields: tab-separated, \N for NULL, backslash escapes undone. */
export function copyFields(line: string): Array<string | null> {
  const esc: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };
  return line.split('\t').map((f) => (f === '\\N' ? null : f.replace(/\\(.)/g, (_, c: string) => esc[c] ?? c)));
}

/** Major version from a version string: "17.11 (Debian ...)" -> 17, "9.6.24" -> 9. */
export function postgresMajor(version: string | null | undefined): number | undefined {
  const m = /^(\d+)(?:\.(\d+))?/.exec(version?.trim() ?? '');
  if (!m) return undefined;
  const major = Number(m[1]);
  return major >= 10 ? major : Number(`${m[1]}.${m[2] ?? 0}`);
}

/** True when the file starts with the custom-format magic. */
export function hasPgDumpMagic(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(5);
    return readSync(fd, b, 0, 5, 0) === 5 && b.equals(PGDMP_MAGIC);
  } finally {
    closeSync(fd);
  }
}

/** Reads the header and TOC. Throws DumpFormatError for anything that is not a whole custom-format TOC. */
export function readDumpToc(path: string): DumpToc {
  const fd = openSync(path, 'r');
  try {
    const r = new ArchiveReader(fd, fstatSync(fd).size);
    const header = readHeader(r);
    const entries = readEntries(r, header);
    return { header, entries, dataStart: r.pos, fileSize: r.size };
  } finally {
    closeSync(fd);
  }
}

function readHeader(r: ArchiveReader): DumpHeader & { version: number } {
  const magic = r.bytes(5, 'the magic');
  if (!magic.equals(PGDMP_MAGIC)) throw new DumpFormatError('not a PostgreSQL custom-format dump (no "PGDMP" magic)', 0);
  const [maj, min, rev] = [r.byte('version'), r.byte('version'), r.byte('version')];
  const version = v(maj, min, rev);
  const formatVersion = `${maj}.${min}.${rev}`;
  if (version < MIN_VERSION || version > MAX_VERSION) {
    throw new DumpFormatError(`archive format ${formatVersion} is not one this reader knows (1.12 to 1.16)`, 5);
  }
  r.intSize = r.byte('int size');
  r.offSize = r.byte('offset size');
  if (r.intSize < 1 || r.intSize > 8 || r.offSize < 1 || r.offSize > 8) {
    throw new DumpFormatError(`implausible int/offset sizes ${r.intSize}/${r.offSize}`, 8);
  }
  const format = r.byte('format');
  if (format !== ARCH_CUSTOM) throw new DumpFormatError(`archive format byte ${format} is not the custom format (1)`, 10);
  let compression: Compression;
  let compressionLevel: number | undefined;
  if (version >= v(1, 15)) {
    const algo = r.byte('compression algorithm');
    const c = ALGORITHMS[algo];
    if (!c) throw new DumpFormatError(`unknown compression algorithm ${algo}`, r.pos - 1);
    compression = c;
  } else {
    compressionLevel = r.int('compression level');
    compression = compressionLevel === 0 ? 'none' : 'gzip';
  }
  const t = Array.from({ length: 7 }, () => r.int('creation time'));
  const [sec, mi, hour, mday, mon, year] = t as [number, number, number, number, number, number];
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const createdAt = `${p(year + 1900, 4)}-${p(mon + 1)}-${p(mday)} ${p(hour)}:${p(mi)}:${p(sec)}`;
  const database = r.str('database name');
  const serverVersion = r.str('server version');
  const dumpVersion = r.str('pg_dump version');
  return {
    version,
    formatVersion,
    intSize: r.intSize,
    offSize: r.offSize,
    compression,
    ...(compressionLevel !== undefined ? { compressionLevel } : {}),
    createdAt,
    database,
    serverVersion,
    dumpVersion,
  };
}

function readEntries(r: ArchiveReader, h: { version: number }): TocEntry[] {
  const count = r.int('TOC entry count');
  if (count < 0 || count > MAX_ENTRIES) throw new DumpFormatError(`implausible TOC entry count ${count}`, r.pos);
  const entries: TocEntry[] = [];
  for (let i = 0; i < count; i++) {
    const what = `TOC entry ${i + 1} of ${count}`;
    const dumpId = r.int(what);
    const hadDumper = r.int(what) !== 0;
    r.str(what); // table oid
    r.str(what); // oid
    const tag = r.str(what) ?? '';
    const desc = r.str(what) ?? '';
    const section = r.int(what);
    r.str(what); // definition
    r.str(what); // drop statement
    const copyStmt = r.str(what);
    const namespace = r.str(what);
    r.str(what); // tablespace
    if (h.version >= v(1, 14)) r.str(what); // table access method
    if (h.version >= v(1, 16)) r.int(what); // relkind
    r.str(what); // owner
    r.str(what); // "with oids" ("false")
    const dependencies: number[] = [];
    for (;;) {
      const d = r.str(what);
      if (d === null) break;
      if (dependencies.length >= MAX_DEPS) throw new DumpFormatError(`${what}: implausibly many dependencies`, r.pos);
      dependencies.push(Number(d));
    }
    const flag = r.byte(what);
    const dataState = OFFSET_FLAGS[flag];
    if (!dataState) throw new DumpFormatError(`${what} (${desc} ${tag}): unknown data offset flag ${flag}`, r.pos - 1);
    const pos = r.offset(what);
    entries.push({ dumpId, hadDumper, tag, desc, namespace, section, copyStmt, dependencies, dataState, ...(dataState === 'position-set' ? { dataPos: pos } : {}) });
  }
  return entries;
}

function v(maj: number, min: number, rev = 0): number {
  return (maj * 256 + min) * 256 + rev;
}

/** Sequential reads from a file descriptor, each checked against the end of the file. */
export class ArchiveReader {
  pos: number;
  intSize = 4;
  offSize = 8;
  readonly #fd: number;
  readonly size: number;
  #buf = Buffer.alloc(1 << 16);
  #bufStart = 0;
  #bufLen = 0;

  constructor(fd: number, size: number, pos = 0) {
    this.#fd = fd;
    this.size = size;
    this.pos = pos;
  }

  bytes(n: number, what: string): Buffer {
    if (n < 0 || this.pos + n > this.size) {
      throw new DumpFormatError(`the archive ends inside ${what} (needs ${n} bytes at offset ${this.pos}, the file has ${this.size}): it is truncated`, this.pos);
    }
    const inBuf = this.pos >= this.#bufStart && this.pos + n <= this.#bufStart + this.#bufLen;
    if (!inBuf) {
      if (n > this.#buf.length) this.#buf = Buffer.alloc(n);
      this.#bufStart = this.pos;
      this.#bufLen = readSync(this.#fd, this.#buf, 0, this.#buf.length, this.pos);
    }
    const at = this.pos - this.#bufStart;
    this.pos += n;
    return this.#buf.subarray(at, at + n);
  }

  byte(what: string): number {
    return this.bytes(1, what)[0]!;
  }

  /** pg_dump's int: a sign byte, then intSize bytes, least significant first. */
  int(what: string): number {
    const b = this.bytes(1 + this.intSize, what);
    let n = 0;
    for (let i = this.intSize; i >= 1; i--) n = n * 256 + b[i]!;
    return b[0] ? -n : n;
  }

  /** pg_dump's string: an int length (-1 for NULL), then the bytes. */
  str(what: string): string | null {
    const len = this.int(what);
    if (len === -1) return null;
    if (len < 0 || len > MAX_STRING) throw new DumpFormatError(`${what}: implausible string length ${len}`, this.pos);
    return this.bytes(len, what).toString('utf8');
  }

  /** pg_dump's offset: offSize bytes, least significant first. */
  offset(what: string): number {
    const b = this.bytes(this.offSize, what);
    let n = 0;
    for (let i = this.offSize - 1; i >= 0; i--) n = n * 256 + b[i]!;
    return n;
  }
}
