import { createHash } from 'node:crypto';
import { readUserFile } from '../files/read-user-file.ts';
import { parseUserJson } from '../files/user-json.ts';
import { UsageError } from '../errors.ts';
import { Manifest } from './schema.ts';

/** The largest manifest read (a real one is a few KiB). */
export const MANIFEST_MAX_BYTES = 16 << 20;

/** The manifest beside an archive: <archive>.manifest.json. */
export function manifestPathFor(archive: string): string {
  return `${archive}.manifest.json`;
}

/**
 * Reads and validates a manifest. Every schema problem is listed with its JSON
 * path in one UsageError, so a user fixes them all in one go.
 */
export async function loadManifest(path: string): Promise<Manifest> {
  return (await loadManifestFile(path)).manifest;
}

/** A manifest with the sha256 of its exact bytes (what a report and signed evidence name) and those bytes. */
export async function loadManifestFile(path: string): Promise<{ manifest: Manifest; sha256: string; bytes: Buffer }> {
  const bytes = await readUserFile(path, { what: 'manifest', maxBytes: MANIFEST_MAX_BYTES, code: 'RD_MANIFEST_UNREADABLE' });
  return parseManifestBytes(bytes, path);
}

/** A manifest's bytes as read from wherever it was (a file, an object beside an archive), validated; `shown` names it in errors. */
export function parseManifestBytes(bytes: Buffer, shown: string): { manifest: Manifest; sha256: string; bytes: Buffer } {
  const json = parseUserJson(bytes.toString('utf8'));
  if (!json.ok) throw new UsageError(`manifest ${shown} is not JSON: ${json.reason}`, 'RD_MANIFEST_UNREADABLE');
  return { manifest: parseManifest(json.value, shown), sha256: createHash('sha256').update(bytes).digest('hex'), bytes };
}

export function parseManifest(raw: unknown, source = 'manifest'): Manifest {
  const r = Manifest.safeParse(raw);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => `${jsonPath(i.path)}: ${i.message}`);
  throw new UsageError(`${source} does not match the manifest schema (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${problems.join('; ')}`, 'RD_MANIFEST_INVALID');
}

function jsonPath(path: ReadonlyArray<PropertyKey>): string {
  return '$' + path.map((p) => (typeof p === 'number' ? `[${p}]` : /^[A-Za-z_$][\w$]*$/.test(String(p)) ? `.${String(p)}` : `[${JSON.stringify(String(p))}]`)).join('');
}
