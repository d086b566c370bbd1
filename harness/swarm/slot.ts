import { UsageError } from '../errors.ts';
import { MAX_SHARDS, type ShardSpec } from '../fleet/shard.ts';

/**
 * Which shard a Swarm task drills, from what the service's templates give it.
 *
 * Read in moby/swarmkit (the Swarm of Docker 20.10.24; both files unchanged
 * since before 20.10):
 * - manager/orchestrator/jobs/replicated/reconciler.go gives each task of a
 *   replicated job a distinct slot, the lowest free one, so that a finished job
 *   has exactly one completed task in every slot 0..TotalCompletions-1: slots of
 *   a job start at 0 (a replicated *service* starts at 1).
 * - template/context.go renders `{{.Task.Slot}}` as the slot number only when
 *   it is not 0; for slot 0 it falls back to the node id (as for a global
 *   service, whose tasks have no slot).
 * So the task in slot 0 sees `{{.Task.Slot}}` equal to `{{.Node.ID}}`: that is
 * shard 0, every other task's text is its slot number. The service passes both
 * (RESTORE_DRILL_TASK_SLOT, RESTORE_DRILL_NODE) and this decides.
 */
export function shardFromTaskSlot(slotText: string | undefined, nodeId: string | undefined, count: number): number {
  const slot = (slotText ?? '').trim();
  if (slot !== '' && nodeId !== undefined && slot === nodeId.trim()) return 0;
  if (!/^\d+$/.test(slot)) {
    throw new UsageError(`--shard task-slot/${count}: RESTORE_DRILL_TASK_SLOT (${JSON.stringify(slot.slice(0, 40))}) is neither a slot number nor this node's id (RESTORE_DRILL_NODE)`, 'RD_USAGE');
  }
  const n = Number(slot);
  if (n >= count) throw new UsageError(`--shard task-slot/${count}: slot ${n} is outside 0..${count - 1}`, 'RD_USAGE');
  return n;
}

/** The env a service gives each task so it can find its shard (Go templates the agent expands on the node). */
export const TASK_SLOT_ENV = {
  RESTORE_DRILL_TASK_SLOT: '{{.Task.Slot}}',
  RESTORE_DRILL_NODE: '{{.Node.ID}}',
  // Each worker its own owner identity (see ownerHost in runtime/labels.ts).
  RESTORE_DRILL_OWNER_HOST: 'swarm-task-{{.Task.ID}}',
  // How the worker finds its own container when it ends (see worker-end.ts).
  RESTORE_DRILL_TASK_ID: '{{.Task.ID}}',
} as const;

/**
 * `--shard task-slot/N`, as the fleet service gives each worker (a service's
 * arguments take no templates, its env does): the shard (1-based, as
 * everywhere) of this task, from RESTORE_DRILL_TASK_SLOT and RESTORE_DRILL_NODE.
 * Undefined for any other form of --shard.
 */
export function taskSlotShard(text: string, env: NodeJS.ProcessEnv = process.env): ShardSpec | undefined {
  const m = /^task-slot\/(\d+)$/.exec(text.trim());
  if (!m) return undefined;
  const count = Number(m[1]);
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_SHARDS) throw new UsageError(`--shard task-slot/N takes 1 <= N <= ${MAX_SHARDS}, got ${JSON.stringify(text.slice(0, 40))}`, 'RD_USAGE');
  return { index: shardFromTaskSlot(env.RESTORE_DRILL_TASK_SLOT, env.RESTORE_DRILL_NODE, count) + 1, count };
}
