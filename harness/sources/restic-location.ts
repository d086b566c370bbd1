import { UsageError } from '../errors.ts';
import { escapeControl, safeDisplay } from './display.ts';

/**
 * `restic:REPOSITORY#SNAPSHOT:/PATH`
 *
 * - REPOSITORY as restic takes it (`/srv/restic`, `s3:http://host:8333/bucket/repo`,
 *   `sftp:user@host:/repo`, `rest:https://host/`); it is handed to restic as
 *   RESTIC_REPOSITORY, never in the process arguments.
 * - SNAPSHOT: `latest`, or a snapshot id (8 to 64 hex digits); `latest` may be
 *   narrowed as restic's own filters: `latest,host=web1,tag=nightly,path=/var/backups`
 *   (each may repeat).
 * - PATH: absolute, inside the snapshot; ending in / it is a folder (the
 *   archives directly in it).
 *
 * The snapshot part ends at the first `:/`, so REPOSITORY may hold `:` and the
 * neighbouring manifest is the same string with `.manifest.json` appended.
 */
export interface ResticLocation {
  repository: string;
  snapshot: string;
  filters: { host: string[]; tag: string[]; path: string[] };
  path: string;
  folder: boolean;
}

const SNAPSHOT_ID = /^[0-9a-f]{8,64}$/;

export function parseResticLocation(location: string): ResticLocation {
  const bad = (why: string): UsageError =>
    new UsageError(`${escapeControl(safeDisplay(location))}: ${why} (expected restic:REPOSITORY#SNAPSHOT:/PATH, e.g. restic:/srv/restic#latest:/var/backups/x.db)`, 'RD_LOCATION');
  if (!location.startsWith('restic:')) throw bad('not a restic: location');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(location)) throw bad('control characters');
  const rest = location.slice('restic:'.length);
  // The first # followed by a snapshot part and :/ (a repository or a path may hold # too).
  let hash = -1;
  for (let i = rest.indexOf('#'); i >= 0; i = rest.indexOf('#', i + 1)) {
    if (/^[^:#]*:\//.test(rest.slice(i + 1))) {
      hash = i;
      break;
    }
  }
  if (hash < 0) throw bad(rest.includes('#') ? 'no :/PATH after the snapshot' : 'no #SNAPSHOT after the repository');
  if (hash === 0) throw bad('no repository before #SNAPSHOT');
  const repository = rest.slice(0, hash);
  const after = rest.slice(hash + 1);
  const sep = after.indexOf(':/');
  if (sep < 0) throw bad('no :/PATH after the snapshot');
  const [snapshot = '', ...filterParts] = after.slice(0, sep).split(',');
  const path = after.slice(sep + 1);
  if (snapshot !== 'latest' && !SNAPSHOT_ID.test(snapshot)) throw bad(`snapshot "${escapeControl(snapshot)}" is neither latest nor a snapshot id`);
  const filters: ResticLocation['filters'] = { host: [], tag: [], path: [] };
  for (const part of filterParts) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (eq <= 0 || !value || !(key === 'host' || key === 'tag' || key === 'path')) throw bad(`"${escapeControl(part)}" is not host=, tag= or path=`);
    filters[key].push(value);
  }
  if (snapshot !== 'latest' && filterParts.length > 0) throw bad('host=, tag= and path= narrow latest only; a snapshot id names one snapshot');
  if (path.split('/').some((seg) => seg === '..' || seg === '.')) throw bad('. or .. in the path');
  return { repository, snapshot, filters, path, folder: path.endsWith('/') };
}

/** The same place pinned to one snapshot: what a listed object records, so its manifest comes from that snapshot too. */
export function resticLocation(repository: string, snapshotId: string, path: string): string {
  return `restic:${repository}#${snapshotId}:${path}`;
}
