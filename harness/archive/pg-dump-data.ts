import { open } from 'node:fs/promises';
import { createInflate } from 'node:zlib';
import { DumpFormatError, type DumpToc, type TocEntry } from './pg-dump.ts';
import { DEFAULT_TAR_LIMITS } from './tar-read.ts';
import { DrillError } from '../errors.ts';

/**
 * Walks every data block of a custom-format dump, from the end of the TOC to
 * the end of the file, without a server: each block must belong to a TOC entry
 * that has data, sit where the TOC says it does, be whole (chunk lengths end
 * with the zero-length end marker before the file does), and, for gzip (what
 * `pg_dump -Z 1-9` writes), inflate with a good checksum. The inflated COPY
 * text is counted line by line: one line per row.
 */

const BLK_DATA = 1;
const BLK_BLOBS = 3;
/** pg_dump ends each table's COPY text with the end-of-data line and two blank lines. */
const COPY_END = Buffer.from('\\.\n\n\n', 'latin1');

export interface BlockFacts {
  dumpId: number;
  offset: number;
  compressedBytes: number;
  /** Bytes of COPY text after inflating (undefined when the compression cannot be checked here). */
  rawBytes?: number;
  /** Rows (COPY lines) for TABLE DATA blocks, when inflated. */
  rows?: number;
  /** The inflated text, for blocks the caller asked to keep (small ones only). */
  text?: string;
}

export interface WalkOptions {
  /** Dump ids whose inflated text to keep (up to maxKeepBytes each), e.g. a one-row state table. */
  keepText?: Set<number>;
  maxKeepBytes?: number;
}

export interface DataWalk {
  blocks: Map<number, BlockFacts>;
  /** Problems found, in file order; empty when every block is whole. */
  problems: string[];
  /** False when blocks were read but their compression cannot be checked in this process. */
  inflated: boolean;
}

/** Walks the data blocks after the TOC. Never throws for a damaged file: damage is a problem in the result. */
export async function walkDumpData(path: string, toc: DumpToc, opts: WalkOptions = {}): Promise<DataWalk> {
  const byId = new Map<number, TocEntry>(toc.entries.map((e) => [e.dumpId, e]));
  const blocks = new Map<number, BlockFacts>();
  const problems: string[] = [];
  const canInflate = toc.header.compression === 'gzip' || toc.header.compression === 'none';
  const fh = await open(path, 'r');
  const r = new AsyncReader(fh, toc.fileSize, toc.dataStart, toc.header.intSize);
  const name = (id: number) => {
    const e = byId.get(id);
    return e ? `${e.desc} ${e.namespace ? `${e.namespace}.` : ''}${e.tag}` : `dump id ${id}`;
  };
  try {
    while (r.pos < toc.fileSize) {
      const offset = r.pos;
      const type = await r.byte('a data block header');
      const dumpId = await r.int('a data block header');
      const entry = byId.get(dumpId);
      if (type !== BLK_DATA && type !== BLK_BLOBS) {
        problems.push(`unknown data block type ${type} at offset ${offset}: the data area is damaged`);
        break;
      }
      if (!entry) {
        problems.push(`a data block at offset ${offset} belongs to dump id ${dumpId}, which the table of contents does not list`);
        break;
      }
      if (entry.dataPos !== undefined && entry.dataPos !== offset) {
        problems.push(`the data of ${name(dumpId)} is at offset ${offset}, the table of contents says ${entry.dataPos}`);
      }
      const facts: BlockFacts = { dumpId, offset, compressedBytes: 0 };
      const keep = opts.keepText?.has(dumpId) ? (opts.maxKeepBytes ?? 1 << 20) : 0;
      const sink = canInflate ? new CopySink(toc.header.compression === 'gzip', keep) : undefined;
      if (type === BLK_BLOBS) {
        // Large objects: an oid, its chunks, repeated; a zero oid ends the block.
        while ((await r.int(`the large objects of ${name(dumpId)}`)) !== 0) {
          facts.compressedBytes += await readChunks(r, `the large objects of ${name(dumpId)}`);
        }
      } else {
        facts.compressedBytes = await readChunks(r, `the data of ${name(dumpId)}`, sink);
      }
      if (sink) {
        const done = await sink.end().catch((e: Error) => e);
        if (done instanceof Error) problems.push(`the data of ${name(dumpId)} does not inflate: ${done.message} (the block is damaged)`);
        else {
          facts.rawBytes = done.bytes;
          if (done.text !== undefined) facts.text = done.text;
          if (entry.desc === 'TABLE DATA') {
            if (done.rows === undefined) problems.push(`the data of ${name(dumpId)} does not end with COPY's end marker: it was cut off before pg_dump finished it`);
            else facts.rows = done.rows;
          }
        }
      }
      blocks.set(dumpId, facts);
    }
  } catch (e) {
    if (!(e instanceof DumpFormatError)) throw e;
    problems.push(e.message);
  } finally {
    await fh.close();
  }
  for (const e of toc.entries) {
    if (e.dataPos !== undefined && e.dataPos >= toc.fileSize) {
      const msg = `the data of ${name(e.dumpId)} should start at offset ${e.dataPos}, past the end of the file (${toc.fileSize} bytes): the archive is truncated`;
      if (!problems.includes(msg)) problems.push(msg);
    }
  }
  return { blocks, problems, inflated: canInflate };
}

/** Reads length-prefixed chunks up to the zero-length end marker; returns the bytes read. */
async function readChunks(r: AsyncReader, what: string, sink?: CopySink): Promise<number> {
  let total = 0;
  for (;;) {
    const len = await r.int(what);
    if (len === 0) return total;
    if (len < 0) throw new DumpFormatError(`${what}: negative chunk length ${len} at offset ${r.pos}`, r.pos);
    const chunk = await r.bytes(len, what);
    total += len;
    await sink?.write(chunk);
  }
}

/** Inflates (or passes through) COPY text and counts its bytes and lines. */
class CopySink {
  readonly #inflate;
  #bytes = 0;
  #lines = 0;
  #error: Error | undefined;
  #tail = Buffer.alloc(0);
  readonly #keep: number;
  #kept: Buffer[] = [];
  #keptBytes = 0;
  #compressed = 0;
  readonly #ended: Promise<void>;

  constructor(gzip: boolean, keep = 0) {
    this.#keep = keep;
    this.#inflate = gzip ? createInflate() : undefined;
    if (this.#inflate) {
      this.#inflate.on('data', (b: Buffer) => this.#count(b));
      this.#ended = new Promise((resolve) => {
        this.#resolveEnded = resolve;
        this.#inflate!.on('end', resolve);
        this.#inflate!.on('error', (e: Error) => {
          this.#error = e;
          resolve();
        });
      });
    } else this.#ended = Promise.resolve();
  }

  #count(b: Buffer): void {
    this.#bytes += b.length;
    // The tar reader's limits, in its words: a bomb is stopped while inflating, not after.
    const { maxRatio, ratioFloorBytes, maxTotalBytes } = DEFAULT_TAR_LIMITS;
    if (this.#inflate && !this.#error && this.#bytes > ratioFloorBytes && this.#bytes > maxRatio * Math.max(1, this.#compressed)) {
      this.#stop(new DrillError(`gzip bomb: ${this.#bytes} bytes inflated from ${this.#compressed} compressed bytes (more than ${maxRatio} times); reading stopped`, 'RD_ARCHIVE_DAMAGED'));
      return;
    }
    if (this.#inflate && !this.#error && this.#bytes > maxTotalBytes) {
      this.#stop(new DrillError(`the block inflates beyond ${maxTotalBytes} bytes; reading stopped`, 'RD_ARCHIVE_DAMAGED'));
      return;
    }
    this.#tail = Buffer.concat([this.#tail, b.subarray(-COPY_END.length)]).subarray(-COPY_END.length);
    if (this.#keptBytes < this.#keep) {
      const part = b.subarray(0, this.#keep - this.#keptBytes);
      this.#kept.push(Buffer.from(part));
      this.#keptBytes += part.length;
    }
    for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) this.#lines++;
  }

  #stop(e: Error): void {
    this.#error = e;
    this.#inflate!.removeAllListeners('data');
    this.#inflate!.destroy();
    this.#resolveEnded();
  }

  #resolveEnded: () => void = () => {};

  async write(chunk: Buffer): Promise<void> {
    if (!this.#inflate) return this.#count(chunk);
    if (this.#error) return;
    this.#compressed += chunk.length;
    // A copy: the reader reuses its buffer. Wait for drain so memory stays flat.
    if (!this.#inflate.write(Buffer.from(chunk))) await new Promise<void>((resolve) => {
      this.#inflate!.once('drain', resolve);
      this.#inflate!.once('close', resolve);
    });
  }

  /** Bytes, and rows when the text ends as pg_dump ends COPY data. */
  async end(): Promise<{ bytes: number; rows?: number; text?: string }> {
    if (!this.#error) this.#inflate?.end();
    await this.#ended;
    if (this.#error) throw this.#error;
    const whole = this.#tail.equals(COPY_END);
    const text = this.#keep > 0 ? Buffer.concat(this.#kept).toString('utf8') : undefined;
    return { bytes: this.#bytes, ...(whole ? { rows: this.#lines - 3 } : {}), ...(text !== undefined ? { text } : {}) };
  }
}

/** Buffered sequential reads, checked against the end of the file. */
class AsyncReader {
  pos: number;
  readonly #fh;
  readonly #size: number;
  readonly #intSize: number;
  #buf = Buffer.alloc(1 << 20);
  #bufStart = 0;
  #bufLen = 0;

  constructor(fh: Awaited<ReturnType<typeof open>>, size: number, pos: number, intSize: number) {
    this.#fh = fh;
    this.#size = size;
    this.pos = pos;
    this.#intSize = intSize;
  }

  async bytes(n: number, what: string): Promise<Buffer> {
    if (this.pos + n > this.#size) {
      throw new DumpFormatError(`the archive ends inside ${what} (needs ${n} bytes at offset ${this.pos}, the file has ${this.#size}): it is truncated`, this.pos);
    }
    if (!(this.pos >= this.#bufStart && this.pos + n <= this.#bufStart + this.#bufLen)) {
      if (n > this.#buf.length) this.#buf = Buffer.alloc(n);
      const { bytesRead } = await this.#fh.read(this.#buf, 0, this.#buf.length, this.pos);
      this.#bufStart = this.pos;
      this.#bufLen = bytesRead;
    }
    const at = this.pos - this.#bufStart;
    this.pos += n;
    return this.#buf.subarray(at, at + n);
  }

  async byte(what: string): Promise<number> {
    return (await this.bytes(1, what))[0]!;
  }

  async int(what: string): Promise<number> {
    const b = await this.bytes(1 + this.#intSize, what);
    let n = 0;
    for (let i = this.#intSize; i >= 1; i--) n = n * 256 + b[i]!;
    return b[0] ? -n : n;
  }
}
