import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { UsageError, type ErrorCode, InternalError } from '../errors.ts';

export interface UserFileOptions {
  /** What the file is, for messages: "manifest", "secrets file". */
  what: string;
  /** Larger files are refused (a mistaken path to a disk image, /dev/zero). */
  maxBytes: number;
  /** Refuse a symbolic link instead of following it (secrets: pass the file itself). */
  noSymlink?: boolean;
  code: ErrorCode;
}

/**
 * The largest file read synchronously. A synchronous read holds the main thread,
 * and with it the SIGINT/SIGTERM handlers, until it ends: only files this small
 * (a key, a secrets file) may be read that way; anything larger goes through
 * `readUserFile`, whose reads leave the handlers free to run.
 */
const SYNC_MAX_BYTES = 1 << 20;

/**
 * Every file a user names is read through here (or `readUserFileSync`), the
 * same checks for each: only a regular file (a FIFO would block for ever, a
 * device like /dev/zero never ends, a folder is not a file), at most
 * `maxBytes`. The file is opened without blocking (O_NONBLOCK: opening a FIFO
 * with no writer returns at once) and checked on the open descriptor, so nothing
 * can be swapped in between the check and the read. The reads are asynchronous,
 * so a signal is handled while they run.
 */
export async function readUserFile(path: string, opts: UserFileOptions): Promise<Buffer> {
  refuseSymlink(path, opts);
  let fh: FileHandle;
  try {
    fh = await open(path, openFlags(opts));
  } catch (e) {
    throw openError(path, opts, e);
  }
  try {
    const st = await fh.stat();
    checkStat(st, path, opts);
    let buf: Buffer = Buffer.allocUnsafe(firstSize(st, opts));
    let n = 0;
    for (;;) {
      if (n === buf.length) buf = grow(buf, opts);
      // Bounded chunks: between them the event loop, and a signal handler, runs.
      const { bytesRead } = await fh.read(buf, n, Math.min(buf.length - n, 1 << 20), null);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > opts.maxBytes) throw tooBig(path, opts);
    }
    return buf.subarray(0, n);
  } finally {
    await fh.close();
  }
}

/** `readUserFile` for small files (at most 1 MiB: keys, secrets files) where a caller cannot wait. */
export function readUserFileSync(path: string, opts: UserFileOptions): Buffer {
  if (opts.maxBytes > SYNC_MAX_BYTES) throw new InternalError(`readUserFileSync(${opts.what}): ${opts.maxBytes} bytes is too much to read synchronously; use readUserFile`);
  refuseSymlink(path, opts);
  let fd: number;
  try {
    fd = openSync(path, openFlags(opts));
  } catch (e) {
    throw openError(path, opts, e);
  }
  try {
    const st = fstatSync(fd);
    checkStat(st, path, opts);
    let buf: Buffer = Buffer.allocUnsafe(firstSize(st, opts));
    let n = 0;
    for (;;) {
      if (n === buf.length) buf = grow(buf, opts);
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n > opts.maxBytes) throw tooBig(path, opts);
    }
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/**
 * Room for the file as it was when opened, and one byte more to see it grew;
 * at least 64 KiB, since some files (in /proc) say 0 bytes and hold more.
 */
function firstSize(st: Stats, opts: UserFileOptions): number {
  return Math.min(opts.maxBytes + 1, Math.max(st.size + 1, 64 << 10));
}

/** A buffer twice as large (at most one byte past the limit) holding what was read so far. */
function grow(buf: Buffer, opts: UserFileOptions): Buffer {
  const bigger = Buffer.allocUnsafe(Math.min(opts.maxBytes + 1, buf.length * 2));
  buf.copy(bigger);
  return bigger;
}

function openFlags(opts: UserFileOptions): number {
  return constants.O_RDONLY | constants.O_NONBLOCK | (opts.noSymlink ? constants.O_NOFOLLOW : 0);
}

function refuseSymlink(path: string, opts: UserFileOptions): void {
  if (!opts.noSymlink) return;
  let isLink = false;
  try {
    isLink = lstatSync(path).isSymbolicLink();
  } catch {
    /* reported by the open */
  }
  if (isLink) throw new UsageError(`${opts.what} ${path} is a symbolic link: name the file itself`, opts.code);
}

function openError(path: string, opts: UserFileOptions, e: unknown): UsageError {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file' : code === 'ELOOP' ? 'it is a symbolic link' : code === 'ENXIO' ? 'it is a socket or a device with nothing behind it' : (code ?? String(e));
  return new UsageError(`cannot read ${opts.what} ${path}: ${why}`, opts.code);
}

function checkStat(st: Stats, path: string, opts: UserFileOptions): void {
  if (!st.isFile()) throw new UsageError(`${opts.what} ${path} is not a regular file (${kind(st)})`, opts.code);
  if (st.size > opts.maxBytes) throw new UsageError(`${opts.what} ${path} is ${st.size} bytes, more than the ${opts.maxBytes} a ${opts.what} may be`, opts.code);
}

function tooBig(path: string, opts: UserFileOptions): UsageError {
  return new UsageError(`${opts.what} ${path} is more than the ${opts.maxBytes} bytes a ${opts.what} may be`, opts.code);
}

function kind(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'not a file';
}

/** Permission bits that let other users read a file. */
export function worldReadable(path: string): boolean {
  try {
    return (lstatSync(path).mode & 0o004) !== 0;
  } catch {
    return false;
  }
}
