import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';

/**
 * A SQLite database file and its write-ahead log, read as bytes and compared:
 * SQLite replays any WAL whose frames check out, whatever main file sits
 * beside it. Copied live (no backup API) with a checkpoint between the two
 * copies, the pair no longer fits together; this says how.
 */
export interface WalReport {
  /** Bytes in the WAL file (0: none or empty). */
  walBytes: number;
  walPageSize?: number;
  mainPageSize?: number;
  /** Pages in the main file. */
  mainPages: number;
  /** Frames that SQLite would replay (up to the last valid commit frame). */
  committedFrames: number;
  /** Valid frames after the last commit (a transaction in flight when copied; SQLite ignores them). */
  uncommittedFrames: number;
  /** Database size in pages after the last committed transaction in the WAL. */
  committedDbPages?: number;
  /** What does not fit, one sentence each; empty when main file and WAL agree. */
  problems: string[];
}

const WAL_HEADER = 32;
const FRAME_HEADER = 24;

export function checkWal(mainPath: string, walPath: string | undefined): WalReport {
  const main = readHead(mainPath, 100);
  const mainSize = statSync(mainPath).size;
  const problems: string[] = [];
  const mainPageSize = main.length >= 18 ? pageSizeOf(main.readUInt16BE(16)) : undefined;
  if (mainSize > 0 && (!mainPageSize || main.subarray(0, 16).toString('latin1') !== 'SQLite format 3\0')) {
    problems.push('the main file has no valid SQLite header');
  }
  const mainPages = mainPageSize ? Math.floor(mainSize / mainPageSize) : 0;
  if (mainPageSize && mainSize % mainPageSize !== 0) problems.push(`the main file is ${mainSize} bytes, not a whole number of ${mainPageSize}-byte pages: it was cut short`);
  const report: WalReport = { walBytes: 0, ...(mainPageSize ? { mainPageSize } : {}), mainPages, committedFrames: 0, uncommittedFrames: 0, problems };
  if (!walPath) return report;
  const wal = readFileSync(walPath);
  report.walBytes = wal.length;
  if (wal.length === 0) return report;
  if (wal.length < WAL_HEADER) {
    problems.push(`the WAL is ${wal.length} bytes, shorter than its own header: its content is lost`);
    return report;
  }
  const magic = wal.readUInt32BE(0);
  if (magic !== 0x377f0682 && magic !== 0x377f0683) {
    problems.push('the WAL has no valid header (magic number): SQLite ignores it and every change in it is lost');
    return report;
  }
  const bigEndian = (magic & 1) === 1;
  const walPageSize = pageSizeOf(wal.readUInt32BE(8));
  if (!walPageSize) {
    problems.push(`the WAL header names an impossible page size (${wal.readUInt32BE(8)})`);
    return report;
  }
  report.walPageSize = walPageSize;
  let [s0, s1] = checksum(wal.subarray(0, 24), bigEndian, 0, 0);
  if (s0 !== wal.readUInt32BE(24) || s1 !== wal.readUInt32BE(28)) {
    problems.push('the WAL header checksum does not match: SQLite ignores the WAL and every change in it is lost');
    return report;
  }
  if (mainPageSize && walPageSize !== mainPageSize) {
    problems.push(`the WAL's page size (${walPageSize}) differs from the main file's (${mainPageSize}): they come from different databases`);
  }
  const salt1 = wal.readUInt32BE(16);
  const salt2 = wal.readUInt32BE(20);
  const frameSize = FRAME_HEADER + walPageSize;
  const committedPages = new Set<number>();
  const pending = new Set<number>();
  let valid = 0;
  for (let off = WAL_HEADER; off + frameSize <= wal.length; off += frameSize) {
    const h = wal.subarray(off, off + FRAME_HEADER);
    if (h.readUInt32BE(8) !== salt1 || h.readUInt32BE(12) !== salt2) break;
    [s0, s1] = checksum(h.subarray(0, 8), bigEndian, s0, s1);
    [s0, s1] = checksum(wal.subarray(off + FRAME_HEADER, off + frameSize), bigEndian, s0, s1);
    if (s0 !== h.readUInt32BE(16) || s1 !== h.readUInt32BE(20)) break;
    valid++;
    pending.add(h.readUInt32BE(0));
    const dbSize = h.readUInt32BE(4);
    if (dbSize > 0) {
      for (const p of pending) committedPages.add(p);
      pending.clear();
      report.committedFrames = valid;
      report.committedDbPages = dbSize;
    }
  }
  report.uncommittedFrames = valid - report.committedFrames;
  const n = report.committedDbPages;
  if (n !== undefined && n > mainPages) {
    const missing: number[] = [];
    let missingCount = 0;
    for (let p = mainPages + 1; p <= n; p++) {
      if (!committedPages.has(p)) {
        missingCount++;
        if (missing.length < 5) missing.push(p);
      }
    }
    if (missingCount > 0) {
      problems.push(
        `the WAL's last commit makes the database ${n} pages, but the main file has ${mainPages} and the WAL holds none of ${missingCount} of the pages beyond it (${missing.join(', ')}${missingCount > missing.length ? ', …' : ''}): ` +
          'the main file was copied before a checkpoint grew it and the WAL after that checkpoint restarted it - the two files are from different moments',
      );
    }
  }
  return report;
}

function pageSizeOf(v: number): number | undefined {
  const size = v === 1 ? 65536 : v;
  return size >= 512 && size <= 65536 && (size & (size - 1)) === 0 ? size : undefined;
}

function readHead(path: string, n: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    return buf.subarray(0, readSync(fd, buf, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

/** SQLite's WAL checksum: pairs of 32-bit words, cumulative across the file. */
function checksum(data: Buffer, bigEndian: boolean, a: number, b: number): [number, number] {
  let s0 = a >>> 0;
  let s1 = b >>> 0;
  for (let i = 0; i + 8 <= data.length; i += 8) {
    const x0 = bigEndian ? data.readUInt32BE(i) : data.readUInt32LE(i);
    const x1 = bigEndian ? data.readUInt32BE(i + 4) : data.readUInt32LE(i + 4);
    s0 = (s0 + x0 + s1) >>> 0;
    s1 = (s1 + x1 + s0) >>> 0;
  }
  return [s0, s1];
}
