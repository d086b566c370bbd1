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
  /** Frames of this WAL generation after the first whose checksum fails: SQLite stops reading there and drops them all. */
  droppedFrames: number;
  /** Commit frames among the dropped ones: whole transactions SQLite will not see. */
  droppedCommits: number;
  /** Page 1 comes from the WAL (the main file's own page 1 is never read while the WAL holds a newer one). */
  page1FromWal: boolean;
  /** Database size in pages after the last committed transaction in the WAL. */
  committedDbPages?: number;
  /** What does not fit, one sentence each; empty when main file and WAL agree. */
  problems: string[];
}

const WAL_HEADER = 32;
const FRAME_HEADER = 24;
const SQLITE_MAGIC = 'SQLite format 3\0';

/** What the WAL holds as SQLite reads it: frames up to the first bad one, committed pages, and what is dropped. */
interface WalFrames {
  pageSize: number;
  committedFrames: number;
  uncommittedFrames: number;
  droppedFrames: number;
  droppedCommits: number;
  /** Frame number (1-based) whose checksum failed, when one did. */
  badFrame?: number;
  committedDbPages?: number;
  /** Each committed page's latest frame offset (its content starts FRAME_HEADER later). */
  committedPages: Map<number, number>;
}

/**
 * Decides on the database as SQLite will see it once the WAL is applied:
 * page 1 from the WAL when the WAL holds one (a damaged main-file page 1 is
 * then never read), frames after the first bad checksum dropped and reported,
 * an empty main file's WAL deleted unread.
 */
export function checkWal(mainPath: string, walPath: string | undefined): WalReport {
  const main = readHead(mainPath, 100);
  const mainSize = statSync(mainPath).size;
  const problems: string[] = [];
  const mainHeaderOk = main.length >= 18 && main.subarray(0, 16).toString('latin1') === SQLITE_MAGIC && pageSizeOf(main.readUInt16BE(16)) !== undefined;
  const report: WalReport = { walBytes: 0, mainPages: 0, committedFrames: 0, uncommittedFrames: 0, droppedFrames: 0, droppedCommits: 0, page1FromWal: false, problems };
  const wal = walPath ? readFileSync(walPath) : Buffer.alloc(0);
  report.walBytes = wal.length;
  const frames = wal.length > 0 ? readFrames(wal, problems) : undefined;
  if (frames) {
    report.walPageSize = frames.pageSize;
    report.committedFrames = frames.committedFrames;
    report.uncommittedFrames = frames.uncommittedFrames;
    report.droppedFrames = frames.droppedFrames;
    report.droppedCommits = frames.droppedCommits;
    if (frames.committedDbPages !== undefined) report.committedDbPages = frames.committedDbPages;
  }
  if (mainSize === 0 && wal.length > 0) {
    // SQLite deletes a WAL that sits beside an empty main file when it opens the database.
    problems.push('the main file is empty: SQLite deletes the WAL beside it when it opens the database, and every change in the WAL is lost');
    return report;
  }
  const walPage1 = frames?.committedPages.get(1);
  const walPage1Ok = walPage1 !== undefined && wal.subarray(walPage1 + FRAME_HEADER, walPage1 + FRAME_HEADER + 16).toString('latin1') === SQLITE_MAGIC;
  report.page1FromWal = walPage1Ok;
  const mainPageSize = mainHeaderOk ? pageSizeOf(main.readUInt16BE(16)) : walPage1Ok ? frames!.pageSize : undefined;
  if (mainPageSize) report.mainPageSize = mainPageSize;
  if (mainSize > 0 && !mainHeaderOk && !walPage1Ok) {
    problems.push(frames ? 'the main file has no valid SQLite header, and no committed frame of the WAL holds a valid page 1 to replace it' : 'the main file has no valid SQLite header');
  }
  report.mainPages = mainPageSize ? Math.floor(mainSize / mainPageSize) : 0;
  if (mainPageSize && mainSize % mainPageSize !== 0) problems.push(`the main file is ${mainSize} bytes, not a whole number of ${mainPageSize}-byte pages: it was cut short`);
  if (!frames) return report;
  if (mainPageSize && frames.pageSize !== mainPageSize) {
    problems.push(`the WAL's page size (${frames.pageSize}) differs from the main file's (${mainPageSize}): they come from different databases`);
  }
  if (frames.badFrame !== undefined && frames.droppedCommits > 0) {
    problems.push(
      `WAL frame ${frames.badFrame} fails its checksum: SQLite stops reading the WAL there and drops ${frames.droppedFrames} frames (${frames.droppedCommits} committed transactions) - ` +
        'the changes in them are lost; the WAL was damaged or copied while it was being written',
    );
  }
  const n = frames.committedDbPages;
  if (n !== undefined && n > report.mainPages) {
    const missing: number[] = [];
    let missingCount = 0;
    for (let p = report.mainPages + 1; p <= n; p++) {
      if (!frames.committedPages.has(p)) {
        missingCount++;
        if (missing.length < 5) missing.push(p);
      }
    }
    if (missingCount > 0) {
      problems.push(
        `the WAL's last commit makes the database ${n} pages, but the main file has ${report.mainPages} and the WAL holds none of ${missingCount} of the pages beyond it (${missing.join(', ')}${missingCount > missing.length ? ', …' : ''}): ` +
          'the main file was copied before a checkpoint grew it and the WAL after that checkpoint restarted it - the two files are from different moments',
      );
    }
  }
  return report;
}

/** The WAL's frames as SQLite reads them; undefined (with a problem) when SQLite would ignore the whole WAL. */
function readFrames(wal: Buffer, problems: string[]): WalFrames | undefined {
  if (wal.length < WAL_HEADER) {
    problems.push(`the WAL is ${wal.length} bytes, shorter than its own header: its content is lost`);
    return undefined;
  }
  const magic = wal.readUInt32BE(0);
  if (magic !== 0x377f0682 && magic !== 0x377f0683) {
    problems.push('the WAL has no valid header (magic number): SQLite ignores it and every change in it is lost');
    return undefined;
  }
  const bigEndian = (magic & 1) === 1;
  const pageSize = pageSizeOf(wal.readUInt32BE(8));
  if (!pageSize) {
    problems.push(`the WAL header names an impossible page size (${wal.readUInt32BE(8)})`);
    return undefined;
  }
  let [s0, s1] = checksum(wal.subarray(0, 24), bigEndian, 0, 0);
  if (s0 !== wal.readUInt32BE(24) || s1 !== wal.readUInt32BE(28)) {
    problems.push('the WAL header checksum does not match: SQLite ignores the WAL and every change in it is lost');
    return undefined;
  }
  const salt1 = wal.readUInt32BE(16);
  const salt2 = wal.readUInt32BE(20);
  const frameSize = FRAME_HEADER + pageSize;
  const out: WalFrames = { pageSize, committedFrames: 0, uncommittedFrames: 0, droppedFrames: 0, droppedCommits: 0, committedPages: new Map() };
  const pending = new Map<number, number>();
  let valid = 0;
  let off = WAL_HEADER;
  for (; off + frameSize <= wal.length; off += frameSize) {
    const h = wal.subarray(off, off + FRAME_HEADER);
    // Other salts: frames left from before the WAL restarted, which SQLite never reads. Not damage.
    if (h.readUInt32BE(8) !== salt1 || h.readUInt32BE(12) !== salt2) break;
    const [c0, c1] = checksum(wal.subarray(off + FRAME_HEADER, off + frameSize), bigEndian, ...checksum(h.subarray(0, 8), bigEndian, s0, s1));
    if (c0 !== h.readUInt32BE(16) || c1 !== h.readUInt32BE(20)) {
      out.badFrame = valid + 1;
      break;
    }
    [s0, s1] = [c0, c1];
    valid++;
    pending.set(h.readUInt32BE(0), off);
    const dbSize = h.readUInt32BE(4);
    if (dbSize > 0) {
      for (const [p, o] of pending) out.committedPages.set(p, o);
      pending.clear();
      out.committedFrames = valid;
      out.committedDbPages = dbSize;
    }
  }
  out.uncommittedFrames = valid - out.committedFrames;
  if (out.badFrame !== undefined) {
    // Everything from the bad frame on with this generation's salts is what SQLite drops.
    for (; off + frameSize <= wal.length; off += frameSize) {
      const h = wal.subarray(off, off + FRAME_HEADER);
      if (h.readUInt32BE(8) !== salt1 || h.readUInt32BE(12) !== salt2) continue;
      out.droppedFrames++;
      if (h.readUInt32BE(4) > 0) out.droppedCommits++;
    }
  }
  return out;
}

/** A page size as SQLite's headers store it (1 for 65536); undefined when it is not one SQLite allows. */
export function pageSizeOf(v: number): number | undefined {
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
