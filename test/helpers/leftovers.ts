import { readdirSync, readFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { MANAGED_LABEL, OWNER_HOST_LABEL, OWNER_PID_LABEL } from '../../harness/runtime/index.ts';
import { ensureEngine } from '../../harness/runtime/engine.ts';

/**
 * The harness processes a test file started: itself (drills run in-process)
 * and the CLI children it spawned. Only their objects are counted, so the
 * suite stays green beside other drills on the same engine and host.
 */
export const ownPids = new Set<number>([process.pid]);

/** Marks a spawned CLI process as the test's own (its containers and work folders count as the test's). */
export function own<T extends { pid?: number | undefined }>(child: T): T {
  if (child.pid !== undefined) ownPids.add(child.pid);
  return child;
}

function ours(labels: Record<string, string> | undefined): boolean {
  return labels?.[OWNER_HOST_LABEL] === hostname() && ownPids.has(Number(labels[OWNER_PID_LABEL]));
}

/** What a drill must never leave behind, counting only what this test's processes made: labelled containers and networks, and work folders. */
export async function leftovers(tmp = tmpdir()): Promise<{ containers: number; networks: number; workDirs: string[] }> {
  const { docker } = await ensureEngine();
  const filters = JSON.stringify({ label: [`${MANAGED_LABEL}=true`] });
  return {
    containers: (await docker.listContainers({ all: true, filters })).filter((c) => ours(c.Labels)).length,
    networks: (await docker.listNetworks({ filters })).filter((n) => ours(n.Labels)).length,
    workDirs: ownWorkDirs(tmp),
  };
}

/** Work folders under `tmp` owned by this test's processes (no engine needed): other drills' folders are not counted. */
export function ownWorkDirs(tmp = tmpdir(), prefix = 'restore-drill-'): string[] {
  return readdirSync(tmp).filter((f) => f.startsWith(prefix) && ours(workDirOwner(join(tmp, f))));
}

/** A work folder's owner record (see harness/runtime/work-dir.ts); undefined when it has none yet or is not ours to read. */
function workDirOwner(dir: string): Record<string, string> | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, '.restore-drill-owner.json'), 'utf8')) as Record<string, string>;
  } catch {
    return undefined;
  }
}
