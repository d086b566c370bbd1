import type { SwarmNode, SwarmTask } from '../runtime/swarm.ts';

/**
 * Where each shard of a fleet run stands, from what the Swarm manager says of
 * the service's tasks and of the nodes. Pure: `observe` takes one snapshot and
 * says what changed, so the submitter's loop (submit.ts) only polls and acts,
 * and the rules are tested against made-up snapshots.
 *
 * What swarmkit does that these rules answer (moby/swarmkit, as in Docker
 * 20.10.24):
 * - A task ends `complete` (exit 0), `failed` (non-zero exit: a worker whose
 *   drills failed exits 1 and has still reported), `rejected` (the node could
 *   not start it: image or mount missing), or is `orphaned` / `shutdown`.
 * - The jobs orchestrator (manager/orchestrator/jobs) does not watch nodes: a
 *   task on a node that went down keeps its last state (`running`) until the
 *   dispatcher marks it `orphaned`, 24 hours later (defaultNodeDownPeriod in
 *   manager/dispatcher/dispatcher.go). So a node seen `down` while one of its
 *   tasks has not ended is what loses the shard, here, at once.
 * - With restart condition none a failed task is not replaced (the restart
 *   supervisor shuts it down and makes no new one), so a slot has one task.
 */
export type ShardPhase = 'waiting' | 'running' | 'ended' | 'lost';

export interface ShardState {
  index: number;
  phase: ShardPhase;
  taskId?: string;
  nodeId?: string;
  /** The node's host name where known, for messages. */
  node?: string;
  /** The task's final state (complete, failed) once ended. */
  state?: string;
  exitCode?: number;
  /** Why the shard is lost, naming the node. */
  reason?: string;
  /** The scheduler's word on a waiting task ("no suitable node ..."). */
  waitingFor?: string;
  /** Lost with its node: swarmkit still counts its task as running (see stalled()). */
  holdsSlot?: boolean;
}

export type ShardEvent =
  | { kind: 'started'; index: number; node: string }
  | { kind: 'ended'; index: number; node: string; state: string; exitCode?: number }
  | { kind: 'lost'; index: number; reason: string };

const ACTIVE = new Set(['assigned', 'accepted', 'preparing', 'ready', 'starting', 'running']);
const ENDED = new Set(['complete', 'failed']);
const LOST = new Set(['rejected', 'orphaned', 'shutdown', 'remove']);

export class ShardTracker {
  readonly shards: ShardState[];

  constructor(count: number) {
    this.shards = Array.from({ length: count }, (_, index) => ({ index, phase: 'waiting' as ShardPhase }));
  }

  /** Every shard has ended or is lost: nothing more will come. */
  get settled(): boolean {
    return this.shards.every((s) => s.phase === 'ended' || s.phase === 'lost');
  }

  /** Tasks started or running now. */
  get active(): number {
    return this.shards.filter((s) => s.phase === 'running').length;
  }

  /**
   * One snapshot of the service's tasks and the nodes. A shard that has ended
   * or is lost stays so (the run decided on it); the slot of a task is its
   * shard (reconciler.go: slots 0..TotalCompletions-1).
   */
  observe(tasks: SwarmTask[], nodes: SwarmNode[]): ShardEvent[] {
    const byNode = new Map(nodes.map((n) => [n.id, n]));
    const name = (id: string | undefined) => (id ? describeNode(byNode.get(id), id) : 'no node');
    const events: ShardEvent[] = [];
    for (const shard of this.shards) {
      if (shard.phase === 'ended' || shard.phase === 'lost') continue;
      const task = pick(tasks.filter((t) => t.slot === shard.index));
      if (!task) continue;
      const node = name(task.nodeId);
      Object.assign(shard, { taskId: task.id, ...(task.nodeId ? { nodeId: task.nodeId, node } : {}) });
      if (ENDED.has(task.state)) {
        shard.phase = 'ended';
        shard.state = task.state;
        if (task.exitCode !== undefined) shard.exitCode = task.exitCode;
        events.push({ kind: 'ended', index: shard.index, node, state: task.state, ...(task.exitCode !== undefined ? { exitCode: task.exitCode } : {}) });
        continue;
      }
      if (LOST.has(task.state)) {
        const why = task.err ?? task.message;
        this.lose(shard, `its task ${task.state} on node ${node}${why ? ` (${why})` : ''}`, events);
        continue;
      }
      const nodeState = task.nodeId ? byNode.get(task.nodeId)?.state : undefined;
      if (task.nodeId && (nodeState === 'down' || (nodeState === undefined && nodes.length > 0))) {
        this.lose(shard, `node ${node} went down while its task was ${task.state}`, events);
        shard.holdsSlot = true;
        continue;
      }
      if (ACTIVE.has(task.state)) {
        if (shard.phase === 'waiting') events.push({ kind: 'started', index: shard.index, node });
        shard.phase = 'running';
        delete shard.waitingFor;
      } else if (task.err || task.message) {
        // pending: the scheduler says why ("no suitable node (insufficient resources on 3 nodes)").
        shard.waitingFor = task.err ?? task.message!;
      }
    }
    return events;
  }

  /** Every shard not yet ended is lost, for this reason (the deadline, an interrupt, the service gone). */
  loseRemaining(reason: string): ShardEvent[] {
    const events: ShardEvent[] = [];
    for (const s of this.shards) {
      if (s.phase === 'ended' || s.phase === 'lost') continue;
      this.lose(s, s.node ? `${reason} (its task was on node ${s.node})` : reason, events);
    }
    return events;
  }

  /**
   * Shards that can never start. The reconciler makes new tasks only while
   * fewer than MaxConcurrent are "running", and a task on a down node counts
   * as running for the 24 hours before it is orphaned; once such tasks fill
   * MaxConcurrent, a shard with no task yet would wait for nothing. Seen on
   * the test's Swarm: with MaxConcurrent 3, a node stopped under one task held
   * its place until the job ended.
   */
  stalled(maxConcurrent: number): ShardEvent[] {
    const held = this.shards.filter((s) => s.holdsSlot).length;
    if (held < maxConcurrent) return [];
    const events: ShardEvent[] = [];
    for (const s of this.shards) {
      if (s.phase !== 'waiting' || s.taskId) continue;
      this.lose(s, `no task was ever started for it: the ${held} task(s) of nodes that went down still count against --jobs ${maxConcurrent} in the Swarm`, events);
    }
    return events;
  }

  /** A shard that ended but whose report never arrived is lost after all. */
  loseEnded(index: number, reason: string): void {
    const s = this.shards[index]!;
    s.phase = 'lost';
    s.reason = reason;
  }

  private lose(shard: ShardState, reason: string, events: ShardEvent[]): void {
    shard.phase = 'lost';
    shard.reason = reason;
    events.push({ kind: 'lost', index: shard.index, reason });
  }
}

/** "worker-2 (abc123def456)": what an operator recognises and what the engine calls it. */
export function describeNode(node: SwarmNode | undefined, id: string): string {
  return node && node.hostname !== id ? `${node.hostname} (${id.slice(0, 12)})` : id.slice(0, 12);
}

/**
 * The task that speaks for a slot: the first the manager made for it. The job
 * reconciler makes another whenever one ends without completing (restart
 * policy or not); the run has decided on the shard by then (lost, or ended
 * and judged by its report), so a later task of the slot changes nothing.
 */
function pick(tasks: SwarmTask[]): SwarmTask | undefined {
  return [...tasks].sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? '') || a.id.localeCompare(b.id))[0];
}
