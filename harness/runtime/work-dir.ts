import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ownerAlive } from './owner.ts';
import { OWNER_HOST_LABEL, OWNER_PID_LABEL } from './labels.ts';

const PREFIX = 'restore-drill-';
/** In every work folder: which process owns it, like a container's labels. */
const OWNER_FILE = '.restore-drill-owner.json';

/**
 * A private (0700) folder for one drill or capture: it holds a copy of the
 * backup, and for some applications their keys. It names its owner process,
 * so that if that process is killed before it can remove the folder, the next
 * sweep does.
 */
export async function makeWorkDir(kind: string, base = tmpdir()): Promise<string> {
  const dir = await mkdtemp(join(base, `${PREFIX}${kind}-`)); // mkdtemp makes it 0700
  try {
    writeFileSync(join(dir, OWNER_FILE), JSON.stringify({ [OWNER_PID_LABEL]: String(process.pid), [OWNER_HOST_LABEL]: hostname() }), { mode: 0o600 });
  } catch (e) {
    // A folder that cannot name its owner could never be swept: do not leave it.
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return dir;
}

/** Removes work folders whose owner process is gone (all of them with `all`); returns how many. */
export function sweepWorkDirs(opts: { all?: boolean; base?: string } = {}): number {
  const base = opts.base ?? tmpdir();
  let removed = 0;
  for (const name of readdirSync(base)) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = join(base, name);
    let owner: Record<string, string>;
    try {
      owner = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as Record<string, string>;
    } catch {
      continue; // not one of ours, or not yet labelled: never guess
    }
    if (!opts.all && ownerAlive(owner)) continue;
    rmSync(dir, { recursive: true, force: true });
    removed++;
  }
  return removed;
}
