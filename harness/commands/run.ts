import { availableParallelism } from 'node:os';
import { UsageError, errorMessage } from '../errors.ts';
import { dockerRuntime } from '../runtime/docker.ts';
import { ensureEngine } from '../runtime/engine.ts';
import { sweep } from '../runtime/sweep.ts';
import { notStarted, runDrill, unprovenReport } from '../drill/run-drill.ts';
import { planCandidates } from '../drill/plan.ts';
import { runPool } from '../drill/pool.ts';
import type { DrillReport } from '../model/types.ts';
import type { RunReport } from '../report/index.ts';
import type { ShardInfo } from '../report/run-report.ts';
import { selectArchives, type Selection } from '../select/select.ts';
import { onInterrupt } from '../interrupt.ts';
import { TOOL_VERSION } from '../version.ts';
import type { NotifyOn } from '../notify/notify.ts';
import { nodeName } from '../fleet/node.ts';
import { reportStore } from '../fleet/report-to.ts';
import { shardFileName, type ShardSpec } from '../fleet/shard.ts';
import { splitSelection } from '../fleet/split.ts';
import { prepareRunEnd, withRunEnd } from './run-end.ts';

export interface RunOptions {
  profile: string;
  /** Files, folders (the archives in them) and globs. */
  archives: string[];
  manifest?: string;
  secrets?: string;
  selection?: Selection;
  /** Drills at once (default: the machine's cores). */
  jobs?: number;
  /** Limit for one drill; it ends `error`, naming its stage. */
  timeoutMs?: number;
  /** Limit for the whole run: no drill starts after it, running ones end `error`. */
  deadlineMs?: number;
  /** Gate: upgrade each restored archive to this version and check again. */
  upgradeTo?: string;
  /** Reporter specs, NAME[=PATH]; default console. */
  reporters?: string[];
  /** Shorthand for the json reporter with this path. */
  json?: string;
  /** Ed25519 private key (PEM): sign the JSON report. */
  sign?: string;
  /** History file; false disables it. */
  history?: string | false;
  /** Accept an empty backup (no audit rows, tenants or credentials) instead of failing it. */
  acceptEmpty?: boolean;
  /** Accept counts that dropped sharply against the previous backup of the same folder. */
  acceptDrop?: boolean;
  /** Recovery-time budget (ms) where the manifest records none or a larger one. */
  rtoMs?: number;
  /** Over budget is a note, not a failure. */
  rtoWarn?: boolean;
  /** Public key (PEM): every manifest must carry a valid signature by it (<manifest>.dsse.json). */
  manifestPubkey?: string;
  execTimeoutMs?: number;
  /** Post a summary to this URL when the run ends (default: $RESTORE_DRILL_NOTIFY). */
  notify?: string;
  /** Post on a run that did not pass (default) or on every run. */
  notifyOn?: NotifyOn;
  /** Drill only this shard (1-based) of the selection: a worker of a run spread over many machines. */
  shard?: ShardSpec;
  /** With shard: the run's identity (default: a digest of the profile, selection, N and seed). */
  runId?: string;
  /** With shard: a folder or s3://BUCKET/PREFIX/ where shard-I-of-N.json (and its signed evidence) is written. */
  reportTo?: string;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
  out: (line: string) => void;
  say: (line: string) => void;
}

export async function runCommand(opts: RunOptions): Promise<number> {
  const env = opts.env ?? process.env;
  const now = opts.now ?? (() => new Date());
  refuseShardConflicts(opts);
  const shard = opts.shard;
  const reportTo = opts.reportTo && shard ? { store: reportStore(opts.reportTo, env), name: shardFileName(shard.index, shard.count) } : undefined;
  // Every place a result will be written is checked before anything starts. A shard
  // is not the run: its drills go in the merge's history and notification, unless named here.
  const { reportTo: _location, ...rest } = opts;
  const prepared = await prepareRunEnd({
    ...rest,
    ...(shard && opts.history === undefined ? { history: false as const } : {}),
    ...(shard ? { notify: false as const } : {}),
    ...(reportTo ? { reportTo } : {}),
    env,
    now,
  });
  const planned = await planCandidates(opts);
  const { candidates, secrets } = planned;
  for (const w of secrets?.warnings ?? []) opts.say(`warning: ${w}`);
  const node = nodeName(env);
  // Where each drill ran, for a merged report (and for a reader of any report).
  const placed = (report: DrillReport): DrillReport => Object.assign(report, { node });

  return withRunEnd(prepared, () => now().toISOString(), async (end) => {
    const { reporters, lastPassed } = end;
    let plans = selectArchives(candidates, opts.selection ?? {}, { now: now(), ...(lastPassed ? { lastPassed } : {}) }).map((c) => c.plan);
    let unproven = planned.unproven;
    if (plans.length === 0 && unproven.length === 0) throw new UsageError('the selection leaves no archive to drill', 'RD_EMPTY_SELECTION');
    let shardInfo: ShardInfo | undefined;
    if (shard) {
      ({ plans, unproven, info: shardInfo } = splitSelection(plans, unproven, shard, { profile: opts.profile, ...(opts.runId ? { runId: opts.runId } : {}), ...(opts.selection?.seed !== undefined ? { seed: opts.selection.seed } : {}), node }));
      opts.say(`shard ${shard.index}/${shard.count} of run ${shardInfo.runId}: ${plans.length + unproven.length} of the selection's ${shardInfo.selection.length} archive(s)`);
    }
    const engine = plans.length > 0 ? await ensureEngine({ say: opts.say }) : undefined;
    if (engine) for (const n of (await sweep(engine.docker)).notRemoved) opts.say(`warning: a leftover was not removed: ${n}`);

    // One signal for the whole run: SIGINT/SIGTERM or the deadline ends running
    // drills (their containers removed) and starts no new ones.
    const stop = new AbortController();
    const unregister = onInterrupt((signal) => {
      opts.say(`${signal}: stopping; no new drills, running ones end now and are removed`);
      stop.abort('interrupted');
    });
    const deadline = opts.deadlineMs ? setTimeout(() => stop.abort('deadline'), opts.deadlineMs) : undefined;
    const startedAt = now().toISOString();
    await reporters.onRunStart([...unproven.map((u) => u.archive), ...plans.map((p) => p.archive)]);
    // Archives that cannot be drilled as they are: each an `error` report, so a folder never passes around them.
    const refused = unproven.map((u) => {
      const report = placed(unprovenReport(opts.profile, u.archive, u.reason));
      end.record(report);
      reporters.onDrillEnd(report);
      return report;
    });
    let reports: DrillReport[];
    try {
      reports = [...refused, ...(await runPool(
        plans,
        opts.jobs ?? availableParallelism(),
        async (plan) => {
          reporters.onDrillStart(plan.archive);
          const report = placed(await runDrill(plan, {
            runtime: dockerRuntime(engine!),
            signal: stop.signal,
            ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
            ...(opts.execTimeoutMs ? { execTimeoutMs: opts.execTimeoutMs } : {}),
            ...(opts.upgradeTo ? { upgradeTo: opts.upgradeTo } : {}),
            onStage: (archive, stage) => reporters.onStage(archive, stage),
            ...(reporters.wantsProgress ? { onProgress: (archive: string, text: string) => reporters.onProgress(archive, text) } : {}),
          }));
          end.record(report);
          reporters.onDrillEnd(report);
          return report;
        },
        (plan) => {
          if (!stop.signal.aborted) return undefined;
          const report = placed(notStarted(plan, stop.signal.reason === 'deadline' ? 'the run\'s --deadline passed first' : 'the run was interrupted first'));
          reporters.onDrillEnd(report);
          return report;
        },
        (plan, e) => placed(notStarted(plan, `the harness crashed: ${errorMessage(e)}`)),
      ))];
    } finally {
      clearTimeout(deadline);
      unregister();
    }

    const interrupted = stop.signal.aborted && stop.signal.reason === 'interrupted';
    const status = interrupted ? 'interrupted' : reports.some((r) => r.verdict === 'failed') ? 'failed' : reports.some((r) => r.verdict === 'error') ? 'error' : 'passed';
    const run: RunReport = { tool: { name: 'restore-drill', version: TOOL_VERSION }, status, startedAt, finishedAt: now().toISOString(), drills: reports, ...(shardInfo ? { shard: shardInfo } : {}) };
    return end.finish(run);
  });
}

/**
 * A shard's selection must come out the same on every worker, and a shard's
 * options must name a shard. History-dependent selection is refused: each
 * worker's history is its own (resolve the selection once, and give every
 * worker the same explicit archives).
 */
function refuseShardConflicts(opts: RunOptions): void {
  if (!opts.shard) {
    if (opts.reportTo !== undefined) throw new UsageError('--report-to writes a shard\'s report (shard-I-of-N.json): give --shard I/N with it (1/1 for the whole selection)', 'RD_USAGE');
    if (opts.runId !== undefined) throw new UsageError('--run-id names the run a shard belongs to: give --shard I/N with it', 'RD_USAGE');
    return;
  }
  if (opts.selection?.oldestUndrilled !== undefined) {
    throw new UsageError(
      "--oldest-undrilled reads this machine's drill history, which other workers do not share, so shards would not split one selection: resolve the selection once and give every worker the same archives (run --on swarm does), or drop --shard",
      'RD_USAGE',
    );
  }
  if (opts.selection?.sample !== undefined && opts.selection.seed === undefined) {
    throw new UsageError('--sample with --shard needs --seed: without one each worker would pick its own sample', 'RD_USAGE');
  }
  if (opts.notify !== undefined) throw new UsageError('--notify goes with merge (or a whole run): a shard is not the run, and its verdicts are not the run\'s', 'RD_USAGE');
}
