import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fetchArchive } from '../sources/fetch.ts';
import { ArchiveMismatchError } from '../sources/source-error.ts';
import type { ArchiveSource, SourceObject } from '../sources/source.ts';

/** An archive's bytes as the drill received them: where they now are on this host, how many, their sha256, what the source said of them. */
export interface Fetched {
  path: string;
  sizeBytes: number;
  sha256: string;
  /** The object as the source described it (version id / ETag / restic snapshot id); absent for a local file. */
  object?: SourceObject;
}

/** The fetch's outcome: the bytes, or the difference from the manifest that stopped it (nothing kept on disk then). */
export type FetchOutcome = { ok: true; fetched: Fetched } | { ok: false; mismatch: ArchiveMismatchError; bytesRead: number };

/**
 * Reads an archive once through its source while hashing it. A local file is
 * read in place (copying a large backup would only cost time); any other
 * source's bytes stream into the drill's private work folder, checked against
 * the manifest's size and sha256 as they arrive: a difference stops the fetch
 * (the partial file removed) before any container starts.
 */
export async function receiveArchive(
  source: ArchiveSource,
  location: string,
  expected: { sha256: string; sizeBytes: number },
  workSubdir: (name: string) => string,
  signal: AbortSignal,
): Promise<FetchOutcome> {
  if (source.kind === 'file') {
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
    await pipeline(stream, count, new Writable({ write: (_c, _e, done) => done() }), { signal });
    return { ok: true, fetched: { path: object.location, sizeBytes, sha256: hash.digest('hex') } };
  }
  // The name is the source's last path segment, made safe for a file name; the folder is the drill's own.
  const name = location.slice(location.lastIndexOf('/') + 1).replace(/[^A-Za-z0-9._-]/g, '_') || 'archive';
  // 'fetched', not 'archive': profiles unpack into workSubdir('archive') at inspect.
  const path = join(workSubdir('fetched'), name);
  try {
    const got = await fetchArchive(source, location, path, { expected, signal });
    return { ok: true, fetched: { path, sizeBytes: got.sizeBytes, sha256: got.sha256, object: got.object } };
  } catch (e) {
    if (e instanceof ArchiveMismatchError) return { ok: false, mismatch: e, bytesRead: typeof e.observed === 'number' ? e.observed : expected.sizeBytes };
    throw e;
  }
}
