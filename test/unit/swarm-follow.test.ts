import { describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { ShardTracker } from '../../harness/swarm/follow.ts';
import { runOnSwarm, type FleetRunInput } from '../../harness/swarm/submit.ts';
import type { SwarmApi, SwarmNode, SwarmObject, SwarmTask } from '../../harness/runtime/swarm.ts';
import { sweepSwarm, type SweepResult } from '../../harness/runtime/sweep.ts';
import type { DrillReport } from '../../harness/model/types.ts';
import type { RunReport } from '../../harness/report/run-report.ts';
import { sampleRun } from '../helpers/sample-report.ts';

const nodes = (down: string[] = []): SwarmNode[] =>
  ['n0', 'n1', 'n2'].map((id) => ({ id, hostname: `host-${id}`, state: down.includes(id) ? 'down' : 'ready', availability: 'active' }));
const task = (slot: number, state: string, nodeId?: string, extra: Partial<SwarmTask> = {}): SwarmTask => ({ id: `t${slot}`, slot, state, desiredState: 'complete', ...(nodeId ? { nodeId } : {}), ...extra });

describe('following the tasks of a fleet run (the state machine)', () => {
  it('a task is running once assigned, ended when complete or failed, and the run settles when every shard has', () => {
    const t = new ShardTracker(3);
    expect(t.observe([task(0, 'pending'), task(1, 'running', 'n1'), task(2, 'starting', 'n2')], nodes())).toEqual([
      { kind: 'started', index: 1, node: 'host-n1 (n1)' },
      { kind: 'started', index: 2, node: 'host-n2 (n2)' },
    ]);
    expect(t.settled).toBe(false);
    expect(t.observe([task(0, 'complete', 'n0', { exitCode: 0 }), task(1, 'failed', 'n1', { exitCode: 1 }), task(2, 'running', 'n2')], nodes())).toEqual([
      { kind: 'ended', index: 0, node: 'host-n0 (n0)', state: 'complete', exitCode: 0 },
      { kind: 'ended', index: 1, node: 'host-n1 (n1)', state: 'failed', exitCode: 1 },
    ]);
    expect(t.observe([task(0, 'complete', 'n0'), task(1, 'failed', 'n1'), task(2, 'complete', 'n2')], nodes()).map((e) => e.kind)).toEqual(['ended']);
    expect(t.settled).toBe(true);
  });

  it('a rejected or orphaned task loses its shard, naming the node and the engine\'s words', () => {
    const t = new ShardTracker(2);
    const events = t.observe([task(0, 'rejected', 'n1', { err: 'No such image: sha256:abc' }), task(1, 'orphaned', 'n2')], nodes());
    expect(events).toEqual([
      { kind: 'lost', index: 0, reason: 'its task rejected on node host-n1 (n1) (No such image: sha256:abc)' },
      { kind: 'lost', index: 1, reason: 'its task orphaned on node host-n2 (n2)' },
    ]);
    expect(t.settled).toBe(true);
  });

  it('a task still "running" on a node that went down is lost at once (swarmkit would wait 24 h to orphan it); its end state is never taken back', () => {
    const t = new ShardTracker(2);
    t.observe([task(0, 'running', 'n1'), task(1, 'running', 'n2')], nodes());
    expect(t.observe([task(0, 'running', 'n1'), task(1, 'running', 'n2')], nodes(['n2']))).toEqual([
      { kind: 'lost', index: 1, reason: 'node host-n2 (n2) went down while its task was running' },
    ]);
    // The node back, the task seen complete after all: the run decided already.
    expect(t.observe([task(0, 'complete', 'n1'), task(1, 'complete', 'n2')], nodes())).toEqual([{ kind: 'ended', index: 0, node: 'host-n1 (n1)', state: 'complete' }]);
    expect(t.shards[1]).toMatchObject({ phase: 'lost', holdsSlot: true });
  });

  it("a slot's first task decides: the reconciler's replacement of a rejected task does not bring the shard back", () => {
    const t = new ShardTracker(1);
    const first = task(0, 'rejected', 'n1', { id: 'a', createdAt: '2026-12-06T01:00:00Z', err: 'invalid mount config' });
    const again = task(0, 'running', 'n2', { id: 'b', createdAt: '2026-12-06T01:00:01Z' });
    expect(t.observe([again, first], nodes())).toEqual([{ kind: 'lost', index: 0, reason: 'its task rejected on node host-n1 (n1) (invalid mount config)' }]);
    expect(t.observe([again, first, task(0, 'complete', 'n2', { id: 'b' })], nodes())).toEqual([]);
  });

  it('a task of a node that left the Swarm is lost too', () => {
    const t = new ShardTracker(1);
    expect(t.observe([task(0, 'running', 'gone')], nodes())).toEqual([{ kind: 'lost', index: 0, reason: 'node gone went down while its task was running' }]);
  });

  it('shards that can never start (down nodes hold every place of --jobs) are lost; with a place left they wait', () => {
    const t = new ShardTracker(3);
    t.observe([task(0, 'running', 'n1')], nodes(['n1']));
    expect(t.stalled(2)).toEqual([]);
    expect(t.stalled(1).map((e) => e.kind === 'lost' && e.index)).toEqual([1, 2]);
    expect(t.settled).toBe(true);
  });

  it('a pending task keeps the scheduler\'s reason and stays waiting', () => {
    const t = new ShardTracker(1);
    expect(t.observe([task(0, 'pending', undefined, { err: 'no suitable node (insufficient resources on 3 nodes)' })], nodes())).toEqual([]);
    expect(t.shards[0]).toMatchObject({ phase: 'waiting', waitingFor: 'no suitable node (insufficient resources on 3 nodes)' });
    expect(t.loseRemaining("the run's --deadline passed before it reported")).toEqual([{ kind: 'lost', index: 0, reason: "the run's --deadline passed before it reported" }]);
  });
});

/** A Swarm that plays a script: each poll of the tasks advances it one step; workers "write" their reports as their tasks complete. */
class FakeSwarm implements SwarmApi {
  readonly endpoint = 'fake manager';
  spec?: Docker.CreateServiceOptions;
  made: Array<{ id: string; name: string; data: Buffer; labels: Record<string, string> }> = [];
  removedServices: string[] = [];
  removedSecrets: string[] = [];
  step = 0;
  constructor(private readonly script: Array<{ tasks: SwarmTask[]; down?: string[]; report?: number[] }>, private readonly onReport: (slot: number) => void) {}
  async createSecret(name: string, data: Buffer, labels: Record<string, string>) {
    this.made.push({ id: `sec-${name}`, name, data, labels });
    return `sec-${name}`;
  }
  async removeSecret(id: string) {
    this.removedSecrets.push(id);
  }
  async createService(spec: Docker.CreateServiceOptions) {
    this.spec = spec;
    return 'svc1';
  }
  async removeService(id: string) {
    this.removedServices.push(id);
  }
  stoppedJobs: string[] = [];
  async stopJob(id: string) {
    this.stoppedJobs.push(id);
  }
  async tasks() {
    if (this.removedServices.length) return [];
    // Stopped: the old iteration's tasks shut down (what the agents do once they are marked for removal).
    if (this.stoppedJobs.length) return this.script[Math.min(this.step, this.script.length) - 1]!.tasks.map((t) => ({ ...t, state: ['complete', 'failed'].includes(t.state) ? t.state : 'shutdown', desiredState: 'remove' }));
    const s = this.script[Math.min(this.step, this.script.length - 1)]!;
    if (this.step < this.script.length) for (const slot of s.report ?? []) this.onReport(slot);
    this.step++;
    return s.tasks;
  }
  async nodes() {
    return nodes(this.script[Math.max(0, Math.min(this.step - 1, this.script.length - 1))]!.down ?? []);
  }
  async services(): Promise<SwarmObject[]> {
    return [];
  }
  async secrets(): Promise<SwarmObject[]> {
    return [];
  }
}

const SELECTION = ['s3://b/a.db', 's3://b/b.db', 's3://b/c.db'];

function shardReport(slot: number, count: number, verdict: DrillReport['verdict'] = 'passed'): RunReport {
  const base = sampleRun().drills[0]!;
  const mine = SELECTION.filter((_, p) => p % count === slot);
  return {
    tool: { name: 'restore-drill', version: sampleRun().tool.version },
    status: verdict,
    startedAt: base.startedAt,
    finishedAt: base.finishedAt,
    drills: mine.map((path, i) => ({ ...base, drillId: `${base.drillId}${slot}${i}`, archive: { ...base.archive, path, file: path.split('/').pop()! }, verdict, node: `n${slot}` })),
    shard: { runId: 'run1', index: slot + 1, count, selection: SELECTION, node: `n${slot}` },
  };
}

function fleet(script: ConstructorParameters<typeof FakeSwarm>[0], opts: { verdicts?: Record<number, DrillReport['verdict']>; deadlineMs?: number; signal?: AbortSignal; extra?: RunReport[] } = {}) {
  const stored = new Map<string, string>();
  for (const r of opts.extra ?? []) stored.set(`shard-${r.shard!.index}-of-${r.shard!.count}.json`, JSON.stringify(r));
  const swarm = new FakeSwarm(script, (slot) => stored.set(`shard-${slot + 1}-of-3.json`, JSON.stringify(shardReport(slot, 3, opts.verdicts?.[slot]))));
  const said: string[] = [];
  const input: FleetRunInput = {
    profile: 'z4j', runId: 'run1', selection: SELECTION, count: 3, maxConcurrent: 3, reportTo: 's3://reports/run1/', image: 'sha256:w',
    workerOptions: ['--timeout', '600s'], env: { RESTORE_DRILL_IMAGES: 'present' }, secretFiles: [{ key: 'secrets-file', data: Buffer.from('Z4J_SECRET=x') }],
    socketPath: '/var/run/docker.sock', reservations: { nanoCpus: 1e9, memoryBytes: 1 << 30 }, labels: { 'io.restore-drill.managed': 'true' },
    ...(opts.deadlineMs ? { deadlineMs: opts.deadlineMs } : {}), ...(opts.signal ? { signal: opts.signal } : {}), say: (l) => said.push(l),
  };
  const store = {
    shown: 's3://reports/run1/',
    shardReports: async () => [...stored].map(([name, text]) => ({ name, where: `s3://reports/run1/${name}`, read: async () => Buffer.from(text) })),
  };
  return { swarm, said, run: () => runOnSwarm(input, { swarm, store, pollMs: 1, drainMs: 50 }) };
}

describe('a fleet run against a fake Swarm', () => {
  it('merges the reports of every shard into one run, and removes the service and its secrets', async () => {
    const f = fleet([
      { tasks: [task(0, 'running', 'n0'), task(1, 'running', 'n1'), task(2, 'pending')] },
      { tasks: [task(0, 'complete', 'n0'), task(1, 'running', 'n1'), task(2, 'running', 'n2')], report: [0] },
      { tasks: [task(0, 'complete', 'n0'), task(1, 'failed', 'n1', { exitCode: 1 }), task(2, 'complete', 'n2')], report: [1, 2] },
    ], { verdicts: { 1: 'failed' } });
    const { run, stopped } = await f.run();
    expect(stopped).toBeUndefined();
    expect(run.drills.map((d) => [d.archive.path, d.verdict, d.node])).toEqual([['s3://b/a.db', 'passed', 'n0'], ['s3://b/b.db', 'failed', 'n1'], ['s3://b/c.db', 'passed', 'n2']]);
    expect(run.status).toBe('failed');
    expect(run.merged).toMatchObject({ runId: 'run1', count: 3, lost: [] });
    // The worker's command line: its shard from the task slot, the run, the explicit selection; the secrets file by path only.
    const args = (f.swarm.spec!.TaskTemplate as { ContainerSpec: { Args: string[] } }).ContainerSpec.Args;
    expect(args).toEqual(['run', '--profile', 'z4j', '--shard', 'task-slot/3', '--run-id', 'run1', '--report-to', 's3://reports/run1/', '--jobs', '1', '--no-history', '--timeout', '600s', '--', ...SELECTION]);
    expect(JSON.stringify(f.swarm.spec)).not.toContain('Z4J_SECRET');
    expect(f.swarm.made.map((s) => s.name)).toEqual(['restore-drill-run1-secrets-file']);
    expect(f.swarm.removedServices).toEqual(['svc1']);
    // Every task had ended: nothing to stop before the removal.
    expect(f.swarm.stoppedJobs).toEqual([]);
    expect(f.swarm.removedSecrets).toEqual(['sec-restore-drill-run1-secrets-file']);
    expect(f.said).toContain('shard 2/3 ended failed (exit 1) on node host-n1 (n1)');
  });

  it('a node that goes down loses its shard: its archives are error naming the node, the others stand', async () => {
    const f = fleet([
      { tasks: [task(0, 'running', 'n0'), task(1, 'running', 'n1'), task(2, 'running', 'n2')] },
      { tasks: [task(0, 'complete', 'n0'), task(1, 'running', 'n1'), task(2, 'running', 'n2')], report: [0], down: ['n2'] },
      { tasks: [task(0, 'complete', 'n0'), task(1, 'complete', 'n1'), task(2, 'running', 'n2')], report: [1], down: ['n2'] },
    ]);
    const { run } = await f.run();
    expect(run.drills.map((d) => d.verdict)).toEqual(['passed', 'passed', 'error']);
    const lostDrill = run.drills[2]!;
    expect(JSON.stringify(lostDrill)).toContain('shard 3/3 never reported: node host-n2 (n2) went down while its task was running');
    expect(run.status).toBe('error');
    expect(run.merged?.lost).toEqual([{ index: 3, reason: 'node host-n2 (n2) went down while its task was running' }]);
    expect(f.swarm.removedServices).toEqual(['svc1']);
  });

  it('a task that failed without writing its report loses its shard, naming the exit code and node', async () => {
    const f = fleet([
      { tasks: [task(0, 'complete', 'n0'), task(1, 'failed', 'n1', { exitCode: 137 }), task(2, 'complete', 'n2')], report: [0, 2] },
    ]);
    const { run } = await f.run();
    expect(run.merged?.lost).toEqual([{ index: 2, reason: 'its task ended failed (exit 137) on node host-n1 (n1) without writing its report' }]);
    expect(run.drills.map((d) => d.verdict)).toEqual(['passed', 'error', 'passed']);
  });

  it('the deadline loses the shards still out and removes the service', async () => {
    const f = fleet([
      { tasks: [task(0, 'complete', 'n0'), task(1, 'running', 'n1'), task(2, 'pending')], report: [0] },
    ], { deadlineMs: 30 });
    const { run, stopped } = await f.run();
    expect(stopped).toBe('deadline');
    expect(run.merged?.lost).toEqual([
      { index: 2, reason: "the run's --deadline passed before it reported (its task was on node host-n1 (n1))" },
      { index: 3, reason: "the run's --deadline passed before it reported" },
    ]);
    expect(run.drills.map((d) => d.verdict)).toEqual(['passed', 'error', 'error']);
    // The task still running is stopped (a removed job's tasks would run on in Docker 20.10), then the service removed.
    expect(f.swarm.stoppedJobs).toEqual(['svc1']);
    expect(f.swarm.removedServices).toEqual(['svc1']);
    expect(f.swarm.removedSecrets).toHaveLength(1);
  });

  it('an interrupt stops following, removes everything and marks the run interrupted', async () => {
    const stop = new AbortController();
    const f = fleet([{ tasks: [task(0, 'running', 'n0'), task(1, 'running', 'n1'), task(2, 'running', 'n2')] }], { signal: stop.signal });
    setTimeout(() => stop.abort(), 20);
    const { run, stopped } = await f.run();
    expect(stopped).toBe('interrupted');
    expect(run.status).toBe('interrupted');
    expect(run.drills.every((d) => d.verdict === 'error')).toBe(true);
    expect(f.swarm.removedServices).toEqual(['svc1']);
  });

  it("another run's report at the location is passed over, never merged", async () => {
    const other = { ...shardReport(0, 3), shard: { ...shardReport(0, 3).shard!, runId: 'other-run', index: 1 } };
    const f = fleet([{ tasks: [task(0, 'failed', 'n0', { exitCode: 3 }), task(1, 'complete', 'n1'), task(2, 'complete', 'n2')], report: [1, 2] }], { extra: [other] });
    const { run } = await f.run();
    expect(run.drills.map((d) => d.verdict)).toEqual(['error', 'passed', 'passed']);
    expect(f.said.some((l) => /of another run \(other-run/.test(l))).toBe(true);
  });
});

describe('sweep of fleet services and secrets', () => {
  it('removes those whose submitter is gone, keeps a live one, and is silent on an engine that is no manager', async () => {
    const removed: string[] = [];
    const objects = (kind: string): SwarmObject[] => [
      { id: `${kind}-dead`, name: `${kind}-dead`, labels: { owner: 'dead' } },
      { id: `${kind}-live`, name: `${kind}-live`, labels: { owner: 'live' } },
    ];
    const swarm = {
      services: async () => objects('service'),
      secrets: async () => objects('secret'),
      stopJob: async (id: string) => void removed.push(`stop ${id}`),
      removeService: async (id: string) => void removed.push(id),
      removeSecret: async (id: string) => void removed.push(id),
    } as unknown as SwarmApi;
    const result: SweepResult = { containers: 0, networks: 0, volumes: 0, services: 0, secrets: 0, workDirs: 0, notRemoved: [] };
    await sweepSwarm(swarm, (l) => l.owner === 'dead', result);
    expect(removed).toEqual(['stop service-dead', 'service-dead', 'secret-dead']);
    expect(result).toMatchObject({ services: 1, secrets: 1 });
    const notManager = { services: async () => { throw Object.assign(new Error('This node is not a swarm manager.'), { statusCode: 503 }); } } as unknown as SwarmApi;
    await expect(sweepSwarm(notManager, () => true, result)).resolves.toBeUndefined();
  });
});
