import { EnvironmentError, UsageError } from '../errors.ts';
import { mergeShardReports, type ShardReport } from '../fleet/merge.ts';
import { isSingleReport, reportStore, singleReport, type StoredReport } from '../fleet/report-to.ts';
import { parseShardReport } from '../fleet/shard-report.ts';
import { prepareRunEnd, withRunEnd, type RunEndOptions } from './run-end.ts';

export interface MergeCommandOptions extends Omit<RunEndOptions, 'reportTo'> {
  /** Shard report files or s3:// objects, or locations (folders, s3:// prefixes) holding shard-I-of-N.json files. */
  inputs: string[];
  /** Merge only this run: a report of another is refused. */
  runId?: string;
}

/**
 * `merge REPORT...|LOCATION`: the shard reports of one run (`run --shard I/N`)
 * into the run's report, then the end of a local run: every reporter, history,
 * signed evidence, notification and the exit code of the whole. An archive
 * whose shard never reported is an `error` drill of the merged report.
 */
export async function mergeCommand(opts: MergeCommandOptions): Promise<number> {
  const env = opts.env ?? process.env;
  if (opts.inputs.length === 0) throw new UsageError('merge: name the shard reports, or the folder or s3:// prefix they were written to', 'RD_USAGE');
  // Every place the merged results will be written is checked before reports are read.
  const prepared = await prepareRunEnd({ ...opts, env });
  const stored: StoredReport[] = [];
  for (const input of opts.inputs) {
    if (isSingleReport(input)) {
      stored.push(singleReport(input, env));
      continue;
    }
    const store = reportStore(input, env, 'merge');
    const found = await store.shardReports();
    if (found.length === 0) opts.say(`warning: no shard-I-of-N.json in ${store.shown}`);
    stored.push(...found);
  }
  const reports: ShardReport[] = [];
  for (const s of stored) reports.push(parseShardReport(await s.read(), s.where));
  return withRunEnd(prepared, () => new Date().toISOString(), async (end) => {
    const first = reports[0];
    // Without a single report not even the run's archives are known: no verdict can be given, which is an error of the run (notified), not a usage slip.
    if (!first) throw new EnvironmentError(`merge: no shard report found in ${opts.inputs.join(', ')}: no shard of the run reported`, 'RD_REPORT_UNREADABLE');
    const runId = opts.runId ?? first.shard.runId;
    const run = mergeShardReports(reports, { runId, count: first.shard.count, ...(opts.now ? { now: opts.now } : {}) });
    const lost = run.merged?.lost ?? [];
    opts.say(`run ${runId}: ${reports.length} of ${first.shard.count} shard(s) reported${lost.length > 0 ? `; never reported: ${lost.map((l) => `${l.index}/${first.shard.count}`).join(', ')} (their archives are error)` : ''}`);
    return end.finishElsewhere(run);
  });
}
