import { UsageError } from '../errors.ts';
import type { DrillReport } from '../model/types.ts';
import type { RunReport } from '../report/run-report.ts';
import { newDrillId } from '../runtime/labels.ts';
import { lastSegment } from '../sources/display.ts';
import { TOOL_VERSION } from '../version.ts';
import { shardAt } from './shard.ts';

/** A worker's report: a RunReport with its shard block. */
export type ShardReport = RunReport & { shard: NonNullable<RunReport['shard']> };

export interface MergeOptions {
  runId: string;
  count: number;
  /** The whole run's archives in deal order; default: the selection the reports carry (all must agree). */
  selection?: readonly string[];
  /** Shards known lost (1-based index -> why: "the task failed on node X"); a shard that reported anyway counts as reported. */
  lost?: ReadonlyMap<number, string>;
  /** The profile named in the error reports of archives whose shard never reported; default: that of the reported drills. */
  profile?: string;
  now?: () => Date;
}

/**
 * Shard reports into one run report, as a local run of the whole selection
 * would have made it: every archive of the selection once, in deal order.
 * Reports of another run (run id, N, selection or version differ), a shard
 * reported twice and an archive reported twice or by the wrong shard are
 * refused (UsageError): mixing them would report drills of some other run as
 * this one's. An archive whose shard never reported is an `error` drill naming
 * the shard, never missing.
 */
export function mergeShardReports(reports: readonly ShardReport[], opts: MergeOptions): RunReport {
  const now = opts.now ?? (() => new Date());
  const mismatch = (text: string) => new UsageError(`merge: ${text}`, 'RD_MERGE_MISMATCH');
  const byIndex = new Map<number, ShardReport>();
  for (const r of reports) {
    const s = r.shard;
    if (s.runId !== opts.runId) throw mismatch(`shard ${s.index}/${s.count} is of run ${s.runId}, not ${opts.runId}: reports of different runs are not merged`);
    if (s.count !== opts.count) throw mismatch(`shard ${s.index}/${s.count} splits the run into ${s.count} shards, not ${opts.count}: reports of different runs are not merged`);
    if (s.index < 1 || s.index > s.count) throw mismatch(`shard ${s.index}/${s.count} does not exist`);
    if (byIndex.has(s.index)) throw mismatch(`shard ${s.index}/${s.count} reported twice: its archives would be counted twice`);
    byIndex.set(s.index, r);
  }
  const versions = new Set(reports.map((r) => r.tool.version));
  if (versions.size > 1) throw mismatch(`the shards ran different restore-drill versions (${[...versions].sort().join(', ')}): one run is drilled by one version`);
  const selection = opts.selection ?? reports[0]?.shard.selection;
  if (!selection) throw new UsageError('merge: no shard report to merge, and no selection to name the archives of', 'RD_MERGE_MISMATCH');
  if (selection.length === 0) throw new UsageError('merge: the run\'s selection holds no archive', 'RD_EMPTY_SELECTION');
  for (const r of reports) {
    if (!sameList(r.shard.selection, selection)) throw mismatch(`shard ${r.shard.index}/${r.shard.count} saw a different selection of archives than ${opts.selection ? 'this run' : `shard ${reports[0]!.shard.index}/${opts.count}`}: reports of different runs are not merged`);
  }
  // An archive reported more often than the selection holds it is refused before anything else is said about it.
  const wanted = countOf(selection);
  const reported = countOf(reports.flatMap((r) => r.drills.map((d) => d.archive.path)));
  for (const [path, n] of reported) {
    if (!wanted.has(path)) throw mismatch(`${path} is not in this run's selection (${n} report${n === 1 ? '' : 's'} of it)`);
    if (n > wanted.get(path)!) throw mismatch(`${path} is reported twice (${shardsReporting(reports, path).join(', ')}): its verdict would be counted twice`);
  }

  const profile = opts.profile ?? reports.flatMap((r) => r.drills)[0]?.profile ?? 'unknown';
  const pools = new Map([...byIndex].map(([i, r]) => [i, [...r.drills]]));
  const drills: DrillReport[] = selection.map((path, p) => {
    const index = shardAt(p, opts.count);
    const pool = pools.get(index);
    if (!pool) {
      const why = opts.lost?.get(index);
      return missing(profile, path, `shard ${index}/${opts.count} never reported${why ? `: ${why}` : ''}`, now());
    }
    const at = pool.findIndex((d) => d.archive.path === path);
    if (at < 0) return missing(profile, path, `shard ${index}/${opts.count} reported without this archive`, now());
    return pool.splice(at, 1)[0]!;
  });
  for (const [index, pool] of pools) {
    const stray = pool[0];
    if (stray) throw mismatch(`${stray.archive.path} is reported by shard ${index}/${opts.count}, which it is not dealt to: reports of different runs are not merged`);
  }

  const interrupted = reports.some((r) => r.status === 'interrupted');
  const status = drills.some((d) => d.verdict === 'failed') ? 'failed' : drills.some((d) => d.verdict === 'error') || interrupted ? 'error' : 'passed';
  const starts = reports.map((r) => r.startedAt).sort();
  const ends = reports.map((r) => r.finishedAt).sort();
  const at = now().toISOString();
  return {
    tool: { name: 'restore-drill', version: reports[0]?.tool.version ?? TOOL_VERSION },
    status,
    startedAt: starts[0] ?? at,
    finishedAt: ends.at(-1) ?? at,
    drills,
    merged: {
      runId: opts.runId,
      count: opts.count,
      reported: [...byIndex.keys()].sort((a, b) => a - b).map((index) => {
        const node = byIndex.get(index)!.shard.node;
        return { index, ...(node ? { node } : {}) };
      }),
      lost: Array.from({ length: opts.count }, (_, i) => i + 1)
        .filter((i) => !byIndex.has(i) && selection.some((_, p) => shardAt(p, opts.count) === i))
        .map((index) => ({ index, reason: opts.lost?.get(index) ?? 'no report' })),
    },
  };
}

/** The report of an archive its shard did not drill: `error`, naming the shard; it ran nowhere. */
function missing(profile: string, path: string, reason: string, at: Date): DrillReport {
  const when = at.toISOString();
  return {
    drillId: newDrillId(),
    profile,
    archive: { path, file: lastSegment(path) },
    verdict: 'error',
    summary: `plan: ${reason}`,
    stages: [],
    checks: [{ id: 'plan.shard-lost', stage: 'plan', status: 'error', reason }],
    startedAt: when,
    finishedAt: when,
    durationMs: 0,
  };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function countOf(items: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of items) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

function shardsReporting(reports: readonly ShardReport[], path: string): string[] {
  return reports.filter((r) => r.drills.some((d) => d.archive.path === path)).map((r) => `shard ${r.shard.index}/${r.shard.count}`);
}
