import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ArchiveSource } from '../sources/source.ts';

/** An archive's bytes as the drill received them: where they now are on this host, how many, their sha256. */
export interface Fetched {
  path: string;
  sizeBytes: number;
  sha256: string;
}

/**
 * Reads an archive once through its source while hashing it. A local file is
 * read in place (copying a large backup would only cost time); any other
 * source's bytes are written into the drill's private work folder, and that
 * copy, whose digest is the one judged, is what the drill restores.
 */
export async function fetchArchive(source: ArchiveSource, location: string, workSubdir: (name: string) => string, signal: AbortSignal): Promise<Fetched> {
  const { object, stream } = await source.open(location, signal);
  const hash = createHash('sha256');
  let sizeBytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      sizeBytes += chunk.length;
      done(null, chunk);
    },
  });
  if (source.kind === 'file') {
    await pipeline(stream, count, new Writable({ write: (_c, _e, done) => done() }), { signal });
    return { path: object.location, sizeBytes, sha256: hash.digest('hex') };
  }
  const path = join(workSubdir('archive'), object.name.replace(/[^A-Za-z0-9._-]/g, '_') || 'archive');
  await pipeline(stream, count, createWriteStream(path, { mode: 0o600, flags: 'wx' }), { signal });
  return { path, sizeBytes, sha256: hash.digest('hex') };
}
