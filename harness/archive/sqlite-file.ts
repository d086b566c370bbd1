import { copyFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { SQLITE_MAGIC } from '../checks/sqlite-db.ts';

/** True when the file starts with the SQLite 3 header. */
export async function hasSqliteHeader(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(SQLITE_MAGIC.length);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return bytesRead === buf.length && buf.equals(SQLITE_MAGIC);
  } finally {
    await fh.close();
  }
}

/**
 * A private copy of a SQLite archive to open: opening the archive itself could
 * leave -shm/-wal files beside it, and a backup is never to be touched.
 */
export async function privateCopy(archive: string, workDir: string, name = 'archive-copy.db'): Promise<string> {
  const target = join(workDir, name);
  await copyFile(archive, target);
  return target;
}
