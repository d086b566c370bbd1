import type Docker from 'dockerode';
import { errorMessage } from '../errors.ts';
import { debug } from '../log.ts';
import { removeContainer } from './container.ts';
import { MANAGED_LABEL } from './labels.ts';
import { ownerAlive } from './owner.ts';
import { sweepWorkDirs } from './work-dir.ts';

export interface SweepResult {
  containers: number;
  networks: number;
  volumes: number;
  /** Work folders (copies of backups, keys) of harness processes that are gone. */
  workDirs: number;
  /** Containers the engine did not remove, each with why. */
  notRemoved: string[];
}

export interface SweepOptions {
  /** Remove every labelled object, even those whose owner process still runs. */
  all?: boolean;
}

/**
 * Removes labelled leftovers whose owning harness process is gone (killed,
 * crashed, machine rebooted). Objects owned by a live process on this host are
 * left alone, so two drills on one host do not sweep each other.
 */
export async function sweep(docker: Docker, opts: SweepOptions = {}): Promise<SweepResult> {
  const filters = JSON.stringify({ label: [`${MANAGED_LABEL}=true`] });
  const orphan = (labels: Record<string, string> | undefined) => opts.all || !ownerAlive(labels ?? {});
  const result: SweepResult = { containers: 0, networks: 0, volumes: 0, notRemoved: [], workDirs: sweepWorkDirs(opts.all ? { all: true } : {}) };

  for (const c of await docker.listContainers({ all: true, filters })) {
    if (!orphan(c.Labels)) continue;
    const name = c.Names[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12);
    debug.runtime('sweeping container %s', name);
    try {
      // The drills' own removal: a paused leftover is resumed first, and an engine that hangs on one does not hang the sweep.
      await removeContainer(docker.getContainer(c.Id), name);
      result.containers++;
    } catch (e) {
      result.notRemoved.push(`${name}: ${errorMessage(e)}`);
    }
  }
  for (const n of await docker.listNetworks({ filters })) {
    if (!orphan(n.Labels)) continue;
    debug.runtime('sweeping network %s', n.Name);
    await ignoreMissing(docker.getNetwork(n.Id).remove());
    result.networks++;
  }
  const { Volumes } = await docker.listVolumes({ filters });
  for (const v of Volumes ?? []) {
    if (!orphan(v.Labels)) continue;
    debug.runtime('sweeping volume %s', v.Name);
    await ignoreMissing(docker.getVolume(v.Name).remove());
    result.volumes++;
  }
  return result;
}


async function ignoreMissing(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    const status = (e as { statusCode?: number }).statusCode;
    if (status !== 404 && status !== 409) throw e;
  }
}
