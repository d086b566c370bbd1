import { closeSync, constants, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import { UsageError } from '../errors.ts';

export interface UserFileOptions {
  /** What the file is, for messages: "manifest", "secrets file". */
  what: string;
  /** Larger files are refused (a mistaken path to a disk image, /dev/zero). */
  maxBytes: number;
  /** Refuse a symbolic link instead of following it (secrets: pass the file itself). */
  noSymlink?: boolean;
  code: string;
}

/**
 * Reads a file the user named, bounded: only a regular file (a FIFO, a device
 * or a folder would block or never end), at most `maxBytes`. Opened without
 * blocking and checked on the open descriptor, so nothing can be swapped in
 * between the check and the read.
 */
export function readUserFile(path: string, opts: UserFileOptions): Buffer {
  if (opts.noSymlink) {
    let isLink = false;
    try {
      isLink = lstatSync(path).isSymbolicLink();
    } catch {
      /* reported by the open below */
    }
    if (isLink) throw new UsageError(`${opts.what} ${path} is a symbolic link: name the file itself`, opts.code);
  }
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | (opts.noSymlink ? constants.O_NOFOLLOW : 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${opts.what} ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'ELOOP' ? 'it is a symbolic link' : (code ?? String(e))}`, opts.code);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UsageError(`${opts.what} ${path} is not a regular file (${kind(st)})`, opts.code);
    if (st.size > opts.maxBytes) throw new UsageError(`${opts.what} ${path} is ${st.size} bytes, more than the ${opts.maxBytes} a ${opts.what} may be`, opts.code);
    const buf = Buffer.alloc(opts.maxBytes + 1);
    let n = 0;
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n > opts.maxBytes) throw new UsageError(`${opts.what} ${path} is more than the ${opts.maxBytes} bytes a ${opts.what} may be`, opts.code);
    }
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

function kind(st: import('node:fs').Stats): string {
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
