import { errorMessage } from '../errors.ts';
import { debug } from '../log.ts';
import { mergeShardReports, type ShardReport } from '../fleet/merge.ts';
import type { ReportStore } from '../fleet/report-to.ts';
import { parseShardReport } from '../fleet/shard-report.ts';
import type { RunReport } from '../report/run-report.ts';
import type { SwarmApi } from '../runtime/swarm.ts';
import { ShardTracker, type ShardEvent } from './follow.ts';
import { workerServiceSpec, type MountedSecret, type WorkerServiceInput } from './service-spec.ts';
import type { SecretFile } from './source-secrets.ts';

/**
 * A fleet run: the service's own settings as the spec takes them (shards,
 * tasks at once, image, plain env, shared folder, socket path, reservations,
 * labels; documented on WorkerServiceInput), plus what the submitter makes of
 * the run itself.
 */
export interface FleetRunInput extends Pick<WorkerServiceInput, 'count' | 'maxConcurrent' | 'image' | 'env' | 'sharedFolder' | 'socketPath' | 'reservations' | 'labels'> {
  profile: string;
  runId: string;
  /** Every archive of the run (planned and unproven alike), in deal order: what each worker is given and what merge expects. */
  selection: string[];
  /** The run's own report location (the user's --report-to plus the run id): workers write shard-I-of-N.json there. */
  reportTo: string;
  /** Worker options after `run` that every shard takes (limits, policy), never a secret. */
  workerOptions: string[];
  /** Files the workers need whose content is secret, each a Swarm secret under /run/secrets/<key>. */
  secretFiles: SecretFile[];
  /** When the run's --deadline passes (ms from now). */
  deadlineMs?: number;
  /** Aborted by SIGINT/SIGTERM. */
  signal?: AbortSignal;
  say: (line: string) => void;
}

export interface FleetRunDeps {
  swarm: SwarmApi;
  /** Where the workers' reports are read back (the same location as input.reportTo). */
  store: Pick<ReportStore, 'shown' | 'shardReports'>;
  pollMs?: number;
  /** How long the manager may fail to answer before the shards still out are lost. */
  managerGraceMs?: number;
  /** How long removal waits for the tasks' containers to be gone. */
  drainMs?: number;
  now?: () => Date;
}

/** The file name of a secret in the task: short, fixed, never user-given. */
const mounted = (key: string): string => key;

/**
 * One fleet run on a Swarm: the secrets and the replicated-job service made,
 * its tasks followed to the end (or the deadline, or an interrupt), the
 * service and secrets removed whatever happened, and the shards' reports
 * merged into one run report (a shard that never reported is `error` for its
 * archives, the reason naming the node). What is made of the report
 * (reporters, history, exit code) is the caller's: the shared end of a run.
 */
export async function runOnSwarm(input: FleetRunInput, deps: FleetRunDeps): Promise<{ run: RunReport; stopped?: 'deadline' | 'interrupted' }> {
  const { say } = input;
  const { swarm } = deps;
  const now = deps.now ?? (() => new Date());
  // A shard's end is seen at most this late: part of each drill's dispatch overhead.
  const pollMs = deps.pollMs ?? 250;
  const startedAt = now().toISOString();
  const name = serviceName(input.runId);
  const secrets: MountedSecret[] = [];
  let serviceId: string | undefined;
  const tracker = new ShardTracker(input.count);
  let stopped: 'deadline' | 'interrupted' | undefined;
  const stop = new AbortController();
  const onAbort = () => {
    stopped ??= 'interrupted';
    stop.abort();
  };
  input.signal?.addEventListener('abort', onAbort, { once: true });
  if (input.signal?.aborted) onAbort();
  const deadline = input.deadlineMs
    ? setTimeout(() => {
        stopped ??= 'deadline';
        stop.abort();
      }, input.deadlineMs)
    : undefined;
  try {
    for (const f of input.secretFiles) {
      const secretName = `${name}-${f.key}`;
      secrets.push({ id: await swarm.createSecret(secretName, f.data, input.labels), name: secretName, file: mounted(f.key) });
    }
    if (!stop.signal.aborted) {
      const args = [
        'run', '--profile', input.profile, '--shard', `task-slot/${input.count}`, '--run-id', input.runId, '--report-to', input.reportTo,
        '--jobs', '1', '--no-history', ...input.workerOptions, '--', ...input.selection,
      ];
      serviceId = await swarm.createService(
        workerServiceSpec({
          name, image: input.image, count: input.count, maxConcurrent: input.maxConcurrent, args, env: input.env, secrets,
          socketPath: input.socketPath, ...(input.sharedFolder ? { sharedFolder: input.sharedFolder } : {}), reservations: input.reservations, labels: input.labels,
        }),
      );
      say(`fleet run ${input.runId}: service ${name} on ${swarm.endpoint}, ${input.count} shard(s) of ${input.selection.length} archive(s), at most ${input.maxConcurrent} at once; reports to ${deps.store.shown}`);
      await follow(serviceId, tracker, input, deps, stop.signal, pollMs);
    }
    if (stopped) {
      const why = stopped === 'deadline' ? "the run's --deadline passed before it reported" : 'the run was interrupted before it reported';
      for (const e of tracker.loseRemaining(why)) tell(say, e, input.count);
    }
  } finally {
    clearTimeout(deadline);
    input.signal?.removeEventListener('abort', onAbort);
    // Whatever happened (an error above, a signal, the deadline): nothing of the run stays on the Swarm.
    await removeAll(swarm, serviceId, secrets, say, deps.drainMs ?? 60_000, pollMs);
  }

  const reports = await readReports(deps.store, input, say);
  const reported = new Set(reports.map((r) => r.shard.index));
  const lost = new Map<number, string>();
  for (const s of tracker.shards) {
    if (reported.has(s.index + 1)) continue;
    const reason = s.reason ?? (s.state ? `its task ended ${s.state}${s.exitCode !== undefined ? ` (exit ${s.exitCode})` : ''} on node ${s.node ?? 'unknown'} without writing its report` : 'it never ran');
    lost.set(s.index + 1, reason);
  }
  const run = mergeShardReports(reports, { runId: input.runId, count: input.count, selection: input.selection, lost, profile: input.profile, now });
  run.startedAt = startedAt;
  run.finishedAt = now().toISOString();
  if (stopped === 'interrupted') run.status = 'interrupted';
  return { run, ...(stopped ? { stopped } : {}) };
}

/** restore-drill-<run id>, cut to what a service name may hold (63 characters of letters, digits, dashes). */
export function serviceName(runId: string): string {
  return `restore-drill-${runId.replace(/[^A-Za-z0-9-]/g, '-')}`.slice(0, 63).replace(/-+$/, '');
}

async function follow(serviceId: string, tracker: ShardTracker, input: FleetRunInput, deps: FleetRunDeps, signal: AbortSignal, pollMs: number): Promise<void> {
  const grace = deps.managerGraceMs ?? 30_000;
  let failingSince: number | undefined;
  while (!tracker.settled && !signal.aborted) {
    try {
      const [tasks, nodes] = await Promise.all([deps.swarm.tasks(serviceId), deps.swarm.nodes()]);
      failingSince = undefined;
      for (const e of [...tracker.observe(tasks, nodes), ...tracker.stalled(input.maxConcurrent)]) tell(input.say, e, input.count);
    } catch (e) {
      failingSince ??= Date.now();
      debug.runtime('swarm poll failed: %s', e);
      if (Date.now() - failingSince > grace) {
        for (const ev of tracker.loseRemaining(`the Swarm manager stopped answering (${errorMessage(e)})`)) tell(input.say, ev, input.count);
        return;
      }
    }
    if (!tracker.settled) await sleep(pollMs, signal);
  }
}

function tell(say: (l: string) => void, e: ShardEvent, count: number): void {
  const shard = `shard ${e.index + 1}/${count}`;
  if (e.kind === 'started') say(`${shard} started on node ${e.node}`);
  else if (e.kind === 'ended') say(`${shard} ended ${e.state}${e.exitCode !== undefined && e.exitCode !== 0 ? ` (exit ${e.exitCode})` : ''} on node ${e.node}`);
  else say(`${shard} lost: ${e.reason}`);
}

/**
 * Removes the service (its tasks stopped first: a worker's SIGTERM handler
 * removes its drill containers), then the secrets. A finished worker has its
 * own container removed (swarm/worker-end.ts).
 */
async function removeAll(swarm: SwarmApi, serviceId: string | undefined, secrets: MountedSecret[], say: (l: string) => void, drainMs: number, pollMs: number): Promise<void> {
  if (serviceId) {
    try {
      // Docker 20.10's swarmkit leaves a removed job's tasks running (fixed upstream in 75e563b4, 2023-01): tasks still
      // under way (the deadline, an interrupt, a lost node's) are stopped first, and removal waits for them, bounded.
      const live = new Set((await swarm.nodes().catch(() => [])).filter((n) => n.state === 'ready').map((n) => n.id));
      const active = async () => (await swarm.tasks(serviceId).catch(() => [])).filter((t) => t.nodeId && live.has(t.nodeId) && ACTIVE_STATES.has(t.state) && t.desiredState !== 'remove');
      if ((await active()).length > 0) {
        await swarm.stopJob(serviceId);
        const until = Date.now() + drainMs;
        while (Date.now() < until && (await active()).length > 0) await sleep(pollMs);
      }
      await swarm.removeService(serviceId);
    } catch (e) {
      say(`warning: the fleet service ${serviceId} could not be removed (${errorMessage(e)}); "restore-drill sweep" on a manager removes it`);
    }
  }
  for (const s of secrets) {
    try {
      await swarm.removeSecret(s.id);
    } catch (e) {
      say(`warning: the Swarm secret ${s.name} could not be removed (${errorMessage(e)}); "restore-drill sweep" on a manager removes it`);
    }
  }
}

const ACTIVE_STATES = new Set(['new', 'pending', 'assigned', 'accepted', 'preparing', 'ready', 'starting', 'running']);

/** The shard reports of this run at its location; another run's, or a file that is not a shard report, is passed over with a warning. */
async function readReports(store: FleetRunDeps['store'], input: FleetRunInput, say: (l: string) => void): Promise<ShardReport[]> {
  let stored;
  try {
    stored = await store.shardReports();
  } catch (e) {
    say(`warning: the shard reports could not be listed at ${store.shown}: ${errorMessage(e)}`);
    return [];
  }
  const out: ShardReport[] = [];
  for (const s of stored) {
    try {
      const r = parseShardReport(await s.read(), s.where);
      if (r.shard.runId !== input.runId || r.shard.count !== input.count) {
        say(`warning: ${s.where} is of another run (${r.shard.runId}, ${r.shard.count} shards): not merged`);
        continue;
      }
      out.push(r);
    } catch (e) {
      say(`warning: ${s.where} is not used: ${errorMessage(e)}`);
    }
  }
  return out;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((ok) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      ok();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
