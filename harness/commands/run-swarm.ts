import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EnvironmentError, UsageError, errorMessage } from '../errors.ts';
import { ensureEngine } from '../runtime/engine.ts';
import { managedLabels, newDrillId, RUN_ID_LABEL } from '../runtime/labels.ts';
import { dockerSwarm } from '../runtime/swarm.ts';
import { ensureWorkerImage, expectedImageIds } from '../images/index.ts';
import { planCandidates } from '../drill/plan.ts';
import { selectArchives } from '../select/select.ts';
import { onInterrupt } from '../interrupt.ts';
import { reportStore } from '../fleet/report-to.ts';
import { MAX_SHARDS } from '../fleet/shard.ts';
import { splitSelection } from '../fleet/split.ts';
import { runOnSwarm } from '../swarm/submit.ts';
import { secretPath, sourceAccess, type SecretFile } from '../swarm/source-secrets.ts';
import { prepareRunEnd, withRunEnd } from './run-end.ts';
import type { RunOptions } from './run.ts';

/** What `run --on swarm` adds to a run's options. */
export interface SwarmOptions {
  /** Each node's engine socket, as a path on the node (Swarm templates allowed, e.g. /run/engines/{{.Node.ID}}.sock). */
  socketPath?: string;
  /** Shards (tasks); default one per archive, so the Swarm balances the drills across nodes as they finish. */
  shards?: number;
  /** Reserved per task (one drill at a time): CPUs and bytes of memory. */
  taskCpus?: number;
  taskMemoryBytes?: number;
}

/**
 * What one drill is taken to need when the Swarm places a task: a core and
 * 1 GiB (a z4j drill's restore and checks, measured in the README's demo
 * figures, use about one core; PostgreSQL restores more memory). --task-cpus
 * and --task-memory change them.
 */
export const DRILL_RESERVATION = { cpus: 1, memoryBytes: 1024 ** 3 };

/**
 * `run --on swarm`: the selection is resolved here (with this machine's
 * history, for --oldest-undrilled), then drilled by a replicated-job service on
 * the Swarm this engine manages, one task per shard, each on its node's
 * engine; the shards' reports are merged and reported, recorded and signed as
 * a local run's, with its exit code.
 */
export async function runOnSwarmCommand(opts: RunOptions & { swarm: SwarmOptions }): Promise<number> {
  const env = opts.env ?? process.env;
  const now = opts.now ?? (() => new Date());
  if (opts.shard) throw new UsageError('--on swarm makes its own shards: give --shards N (default: one per archive), not --shard', 'RD_USAGE');
  if (opts.manifest) throw new UsageError('--on swarm: the workers read each manifest beside its archive; --manifest names a file on this machine only', 'RD_USAGE');
  if (!opts.reportTo) {
    throw new UsageError('--on swarm needs --report-to: a folder every node mounts at the same path, or s3://BUCKET/PREFIX/, where the workers write their shard reports (a folder per run is made under it)', 'RD_USAGE');
  }
  const local = opts.archives.filter((a) => !/^(s3:\/\/|restic:|rclone:)/.test(a));
  if (local.length > 0) {
    throw new UsageError(`--on swarm: ${local[0]} is a path on this machine; the workers read archives from the shared source (s3://, restic:, rclone:), not from this disk`, 'RD_USAGE');
  }
  const userReportTo = opts.reportTo;
  const runId = opts.runId ?? `swarm-${newDrillId()}`;
  // Each run its own folder under --report-to: a report of an earlier run there is never taken for this one's.
  const reportTo = opts.reportTo.startsWith('s3://') ? `${opts.reportTo.replace(/\/?$/, '/')}${runId}/` : join(opts.reportTo, runId);
  const store = reportStore(reportTo, env);
  const { reportTo: _r, runId: _i, ...rest } = opts;
  const prepared = await prepareRunEnd({ ...rest, env, now });
  const planned = await planCandidates(opts);
  for (const w of planned.secrets?.warnings ?? []) opts.say(`warning: ${w}`);

  return withRunEnd(prepared, () => now().toISOString(), async (end) => {
    const plans = selectArchives(planned.candidates, opts.selection ?? {}, { now: now(), ...(end.lastPassed ? { lastPassed: end.lastPassed } : {}) }).map((c) => c.plan);
    const unproven = planned.unproven;
    if (plans.length === 0 && unproven.length === 0) throw new UsageError('the selection leaves no archive to drill', 'RD_EMPTY_SELECTION');
    const total = plans.length + unproven.length;
    const count = Math.min(opts.swarm.shards ?? total, total, MAX_SHARDS);
    // The whole run's selection in deal order, as every worker will compute it from the same explicit list.
    const { info } = splitSelection(plans, unproven, { index: 1, count }, { profile: opts.profile, runId });

    const engine = await ensureEngine({ say: opts.say });
    const swarmInfo = ((await engine.docker.info()) as { Swarm?: { ControlAvailable?: boolean; LocalNodeState?: string } }).Swarm;
    if (!swarmInfo?.ControlAvailable) {
      throw new EnvironmentError(`--on swarm: the engine at ${engine.endpoint} is not a Swarm manager (swarm state: ${swarmInfo?.LocalNodeState ?? 'unknown'}); point DOCKER_HOST at a manager`, 'RD_NO_ENGINE');
    }
    // The images every node must hold, by id (their content digest): the worker's and each drill's.
    const worker = await ensureWorkerImage(engine.docker, { say: opts.say });
    const recipes = plans.flatMap((plan) => [plan.manifest.app.version, ...(opts.upgradeTo ? [opts.upgradeTo] : [])].map((v) => plan.profile.image(v, plan.manifest)));
    const imageIds = { ...(await expectedImageIds(engine.docker, recipes, { say: opts.say })), [worker.tag]: worker.id };
    const access = await sourceAccess({ locations: [...info.selection, reportTo], env });
    const files: SecretFile[] = [...access.files];
    const workerOptions: string[] = [];
    if (opts.secrets) {
      files.push({ key: 'secrets-file', data: readUserSecret(opts.secrets, '--secrets') });
      workerOptions.push('--secrets', secretPath('secrets-file'));
    }
    if (opts.manifestPubkey) {
      files.push({ key: 'manifest-pubkey', data: readUserSecret(opts.manifestPubkey, '--manifest-pubkey') });
      workerOptions.push('--manifest-pubkey', secretPath('manifest-pubkey'));
    }
    if (opts.timeoutMs) workerOptions.push('--timeout', `${Math.ceil(opts.timeoutMs / 1000)}s`);
    if (opts.execTimeoutMs) workerOptions.push('--exec-timeout', String(opts.execTimeoutMs / 1000));
    if (opts.rtoMs) workerOptions.push('--rto', `${Math.ceil(opts.rtoMs / 1000)}s`);
    if (opts.rtoWarn) workerOptions.push('--rto-warn');
    if (opts.acceptEmpty) workerOptions.push('--accept-empty');
    if (opts.acceptDrop) workerOptions.push('--accept-drop');

    const stop = new AbortController();
    const unregister = onInterrupt((signal) => {
      opts.say(`${signal}: stopping; the fleet service and its secrets are removed, shards not reported end error`);
      stop.abort();
    });
    try {
      const { run } = await runOnSwarm(
        {
          profile: opts.profile, runId, selection: info.selection, count, maxConcurrent: opts.jobs ?? count, reportTo, image: worker.id, workerOptions,
          env: { ...access.env, RESTORE_DRILL_IMAGES: 'present', RESTORE_DRILL_IMAGE_IDS: JSON.stringify(imageIds) },
          ...(reportTo.startsWith('s3://') ? {} : { sharedFolder: resolve(userReportTo) }),
          secretFiles: files, socketPath: opts.swarm.socketPath ?? '/var/run/docker.sock',
          reservations: {
            nanoCpus: Math.round((opts.swarm.taskCpus ?? DRILL_RESERVATION.cpus) * 1e9),
            memoryBytes: opts.swarm.taskMemoryBytes ?? DRILL_RESERVATION.memoryBytes,
          },
          labels: { ...managedLabels(runId), [RUN_ID_LABEL]: runId },
          ...(opts.deadlineMs ? { deadlineMs: opts.deadlineMs } : {}),
          signal: stop.signal,
          say: opts.say,
        },
        { swarm: dockerSwarm(engine.docker, engine.endpoint), store },
      );
      return await end.finishElsewhere(run);
    } finally {
      unregister();
    }
  });
}

function readUserSecret(path: string, option: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UsageError(`${option} ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? errorMessage(e)})`, 'RD_USAGE');
  }
}
