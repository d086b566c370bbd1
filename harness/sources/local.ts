import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { UsageError } from '../errors.ts';
import { readUserFile } from '../files/read-user-file.ts';
import { expandArchives } from '../select/expand.ts';
import type { ArchiveSource, SourceObject } from './source.ts';

/** A location no other source claims: a path on this host (a file, a folder of archives, a glob). */
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

async function describe(location: string): Promise<SourceObject> {
  const path = resolve(location);
  const st = await stat(path);
  if (!st.isFile()) throw new UsageError(`archive ${location} is not a file`, 'RD_NO_ARCHIVE');
  return { location: path, name: basename(path), sizeBytes: st.size, modifiedAt: st.mtime };
}

/** Archives on this host's file system: today's only source, read in place (nothing is copied). */
export const localSource: ArchiveSource = {
  kind: 'file',
  handles: (location) => !SCHEME.test(location) || location.startsWith('file:'),
  display: (location) => location,
  async list(location) {
    return Promise.all(expandArchives([location]).map((a) => describe(a.path)));
  },
  async open(location, signal) {
    const object = await describe(location);
    return { object, stream: createReadStream(object.location, signal ? { signal } : {}) };
  },
  async readSmall(location, maxBytes) {
    try {
      await stat(location);
    } catch {
      return undefined;
    }
    return readUserFile(location, { what: basename(location), maxBytes, code: 'RD_MANIFEST_UNREADABLE' });
  },
};
