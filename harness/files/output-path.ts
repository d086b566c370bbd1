import { accessSync, closeSync, constants, existsSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from '../errors.ts';

/**
 * Checks, before any drill starts, that a file can be written at `path`: it is
 * not a folder or a device, and the folder it goes in (or the nearest one that
 * exists, where missing folders are made) takes a new file. A report that
 * cannot be written found out after an hour of drills is a lost run.
 */
export function checkOutputPath(path: string, what: string, opts: { createParents: boolean } = { createParents: true }): string {
  const abs = resolve(path);
  if (existsSync(abs)) {
    const st = statSync(abs);
    if (st.isDirectory()) throw new UsageError(`${what} ${path} is a folder: name a file`, 'RD_OUTPUT_PATH');
    if (!st.isFile()) throw new UsageError(`${what} ${path} is not a regular file`, 'RD_OUTPUT_PATH');
  }
  const parent = dirname(abs);
  let dir = parent;
  if (!opts.createParents && !existsSync(dir)) throw new UsageError(`${what} ${path}: folder ${dir} does not exist`, 'RD_OUTPUT_PATH');
  while (!existsSync(dir)) dir = dirname(dir);
  if (!statSync(dir).isDirectory()) throw new UsageError(`${what} ${path}: ${dir} is not a folder`, 'RD_OUTPUT_PATH');
  try {
    if (dir === parent) {
      // A real attempt in the file's own folder: permissions alone do not say whether a file system (/proc, a read-only mount) takes new files.
      const probe = join(dir, `.restore-drill-probe-${process.pid}`);
      closeSync(openSync(probe, 'wx', 0o600));
      unlinkSync(probe);
    } else {
      // Folders still to be made: nothing is written into an ancestor (it may be /) just to ask; a read-only mount answers EROFS here.
      accessSync(dir, constants.W_OK | constants.X_OK);
    }
  } catch (e) {
    throw new UsageError(`${what} ${path} cannot be written: ${dir} does not take new files (${(e as NodeJS.ErrnoException).code ?? e})`, 'RD_OUTPUT_PATH');
  }
  return abs;
}
