import type { DrillPlan } from '../drill/plan.ts';
import type { ShardInfo } from '../report/run-report.ts';
import { dealOrder, defaultRunId, shardAt, type ShardItem, type ShardSpec } from './shard.ts';

/** An archive found but not drillable as it is (no manifest, unsigned): reported `error` by the shard it is dealt to. */
export interface Unproven {
  archive: string;
  reason: string;
}

/**
 * This worker's part of a run: the selection (planned drills and unproven
 * archives alike, so each is reported by exactly one shard) in deal order,
 * dealt round-robin; the rest is other workers'. Each part keeps the order the
 * selection gave it (oldest first). The shard block names the run: --run-id,
 * or the digest of profile, selection, N and seed.
 */
export function splitSelection<P extends Pick<DrillPlan, 'archive' | 'manifest'>, U extends Unproven>(
  plans: readonly P[],
  unproven: readonly U[],
  shard: ShardSpec,
  run: { profile: string; runId?: string; seed?: number; node?: string },
): { plans: P[]; unproven: U[]; info: ShardInfo } {
  type Item = ShardItem & { of: P | U };
  const items: Item[] = [
    ...unproven.map((u) => ({ location: u.archive, of: u })),
    ...plans.map((p) => ({ location: p.archive, digest: p.manifest.archive.sha256, of: p })),
  ];
  const dealt = dealOrder(items);
  const mine = new Set(dealt.filter((_, p) => shardAt(p, shard.count) === shard.index).map((i) => i.of));
  const selection = dealt.map((i) => i.location);
  const runId = run.runId ?? defaultRunId({ profile: run.profile, selection, count: shard.count, ...(run.seed !== undefined ? { seed: run.seed } : {}) });
  return {
    plans: plans.filter((p) => mine.has(p)),
    unproven: unproven.filter((u) => mine.has(u)),
    info: { runId, index: shard.index, count: shard.count, selection, ...(run.node ? { node: run.node } : {}) },
  };
}
