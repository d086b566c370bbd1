import type { DrillReport } from '../model/types.ts';

/** The result of one `restore-drill run`: what the JSON reporter writes (schema/report.schema.json). */
export interface RunReport {
  tool: { name: 'restore-drill'; version: string };
  status: 'passed' | 'failed' | 'error' | 'interrupted';
  startedAt: string;
  finishedAt: string;
  drills: DrillReport[];
  /** A worker's report of one shard (`run --shard I/N`): which run, which part, and the whole run's selection. */
  shard?: ShardInfo;
  /** A report merged from shard reports (`merge`, `run --on swarm`): the run, its N, and the shards that never reported. */
  merged?: MergedInfo;
}

export interface ShardInfo {
  /** --run-id, or the digest of the profile, selection, N and seed. */
  runId: string;
  /** 1-based: shard-<index>-of-<count>.json. */
  index: number;
  count: number;
  /** Every archive of the whole run (all shards), in deal order: the archive at position p belongs to shard (p mod count) + 1. */
  selection: string[];
  /** The node this shard ran on ($RESTORE_DRILL_NODE or the host name). */
  node?: string;
}

export interface MergedInfo {
  runId: string;
  count: number;
  /** The shards that reported, with the node each ran on. */
  reported: Array<{ index: number; node?: string }>;
  /** The shards that did not: their archives are `error` reports in `drills`. */
  lost: Array<{ index: number; reason: string }>;
}
