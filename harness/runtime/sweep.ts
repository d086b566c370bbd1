import type Docker from 'dockerode';
import { errorMessage } from '../errors.ts';
import { debug } from '../log.ts';
import { removeContainer } from './container.ts';
import { MANAGED_LABEL } from './labels.ts';
import { ownerAlive } from './owner.ts';
import { dockerSwarm, notAManager, type SwarmApi } from './swarm.ts';
import { sweepWorkDirs } from './work-dir.ts';

export interface SweepResult {
  containers: number;
  networks: number;
  volumes: number;
  /** Swarm services of fleet runs (run --on swarm) and their secrets, where this engine is a Swarm manager. */
  services: number;
  secrets: number;
  /** Work folders (copies of backups, keys) of harness processes that are gone. */
  workDirs: number;
  /** Containers the engine did not remove, each with why. */
  notRemoved: string[];
}

export interface SweepOptions {
  /** Remove every labelled object, even those whose owner process still runs. */
  all?: boolean;
  /** The Swarm calls (tests give a fake); by default the engine's own, when it is a manager. */
  swarm?: SwarmApi;
}

/**
 * Removes labelled leftovers whose owning harness process is gone (killed,
 * crashed, machine rebooted). Objects owned by a live process on this host are
 * left alone, so two drills on one host do not sweep each other.
 */
export async function sweep(docker: Docker, opts: SweepOptions = {}): Promise<SweepResult> {
  const filters = JSON.stringify({ label: [`${MANAGED_LABEL}=true`] });
  const orphan = (labels: Record<string, string> | undefined) => opts.all || !ownerAlive(labels ?? {});
  const result: SweepResult = { containers: 0, networks: 0, volumes: 0, services: 0, secrets: 0, notRemoved: [], workDirs: sweepWorkDirs(opts.all ? { all: true } : {}) };

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
  await sweepSwarm(opts.swarm ?? dockerSwarm(docker, 'the engine'), orphan, result);
  return result;
}

/**
 * A fleet run's service and secrets on a Swarm manager, when the submitter
 * that labelled them is gone (killed mid-run): the service first (its tasks
 * stop, their containers go), then the secrets it held. An engine that is not
 * a manager has none to sweep.
 */
export async function sweepSwarm(swarm: SwarmApi, orphan: (labels: Record<string, string>) => boolean, result: SweepResult): Promise<void> {
  const managed = [`${MANAGED_LABEL}=true`];
  let services;
  try {
    services = await swarm.services(managed);
  } catch (e) {
    if (notAManager(e)) return;
    throw e;
  }
  for (const s of services) {
    if (!orphan(s.labels)) continue;
    debug.runtime('sweeping service %s', s.name);
    try {
      // Its tasks stopped first: Docker 20.10 leaves a removed job's tasks running (see harness/swarm/submit.ts).
      await swarm.stopJob(s.id).catch((e: unknown) => debug.runtime('stopping the tasks of %s: %s', s.name, e));
      await swarm.removeService(s.id);
      result.services++;
    } catch (e) {
      result.notRemoved.push(`service ${s.name}: ${errorMessage(e)}`);
    }
  }
  for (const s of await swarm.secrets(managed)) {
    if (!orphan(s.labels)) continue;
    debug.runtime('sweeping secret %s', s.name);
    try {
      await swarm.removeSecret(s.id);
      result.secrets++;
    } catch (e) {
      result.notRemoved.push(`secret ${s.name}: ${errorMessage(e)}`);
    }
  }
}


async function ignoreMissing(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    const status = (e as { statusCode?: number }).statusCode;
    if (status !== 404 && status !== 409) throw e;
  }
}
