import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';

/** Every container, network and volume the harness creates carries these labels. */
export const MANAGED_LABEL = 'io.restore-drill.managed';
export const DRILL_ID_LABEL = 'io.restore-drill.drill-id';
/** The harness process that owns the object: a sweep removes objects whose owner is gone. */
export const OWNER_PID_LABEL = 'io.restore-drill.owner-pid';
export const OWNER_HOST_LABEL = 'io.restore-drill.owner-host';
/** The fleet run a Swarm service or secret belongs to (run --on swarm). */
export const RUN_ID_LABEL = 'io.restore-drill.run-id';
/** Images the harness built carry this label (and their recipe hash). */
export const IMAGE_LABEL = 'io.restore-drill.image';
export const RECIPE_LABEL = 'io.restore-drill.recipe';

export function newDrillId(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/**
 * The owner's host as labels name it: the host name, or $RESTORE_DRILL_OWNER_HOST
 * when set. A fleet worker sets it to its Swarm task: workers on one node share
 * the node's host name (host network) but each has its own pid namespace, so
 * by pid alone one worker's sweep would take another's live containers for a
 * dead owner's.
 */
export function ownerHost(env: NodeJS.ProcessEnv = process.env): string {
  return env.RESTORE_DRILL_OWNER_HOST?.trim().slice(0, 200) || hostname();
}

export function managedLabels(drillId: string, pid = process.pid): Record<string, string> {
  return {
    [MANAGED_LABEL]: 'true',
    [DRILL_ID_LABEL]: drillId,
    [OWNER_PID_LABEL]: String(pid),
    [OWNER_HOST_LABEL]: ownerHost(),
  };
}
