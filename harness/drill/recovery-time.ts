import type { Manifest } from '../manifest/schema.ts';
import type { Finding, StageTiming } from '../model/types.ts';

/** The recovery-time budget a drill is held to, and where it came from. */
export interface RtoBudget {
  ms: number;
  from: 'manifest' | 'command line';
  /** --rto-warn: over budget is a note, not a failure. */
  warnOnly: boolean;
}

/**
 * The budget that binds: the manifest's, recorded at capture, unless the
 * command line gives a tighter one. A larger --rto cannot loosen what the
 * backup's owner recorded (a nightly job's flag would otherwise silently
 * widen every budget); with no budget at all there is nothing to judge.
 */
export function budgetFor(manifest: Manifest, cli: { rtoMs?: number; rtoWarn?: boolean }): RtoBudget | undefined {
  const recorded = manifest.policy?.rtoSeconds !== undefined ? manifest.policy.rtoSeconds * 1000 : undefined;
  const warnOnly = cli.rtoWarn === true;
  if (recorded !== undefined && (cli.rtoMs === undefined || cli.rtoMs >= recorded)) return { ms: recorded, from: 'manifest', warnOnly };
  if (cli.rtoMs !== undefined) return { ms: cli.rtoMs, from: 'command line', warnOnly };
  return undefined;
}

/** The stage that took longest among those up to the probe: what to look at first when a drill is over budget. */
export function longestStage(stages: StageTiming[]): StageTiming | undefined {
  return stages.filter((s) => s.name !== 'compare' && s.name !== 'upgrade' && s.name !== 'post-upgrade').reduce<StageTiming | undefined>((a, s) => (!a || s.durationMs > a.durationMs ? s : a), undefined);
}

export function seconds(ms: number): string {
  return ms >= 120_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(1)} s`;
}

/** The check `rto.budget`: the measured recovery time against the budget, naming the longest stage when over. */
export function rtoFinding(budget: RtoBudget, measuredMs: number, stages: StageTiming[]): Finding {
  const base = { id: 'rto.budget', expected: `at most ${Math.round(budget.ms / 1000)} s`, observed: `${Math.round(measuredMs / 1000)} s` };
  const where = `the budget ${seconds(budget.ms)} (${budget.from === 'manifest' ? 'recorded in the manifest' : '--rto'})`;
  if (measuredMs <= budget.ms) return { ...base, status: 'pass', reason: `recovered in ${seconds(measuredMs)}, within ${where}` };
  const longest = longestStage(stages);
  return {
    ...base,
    status: 'fail',
    reason: `recovery took ${seconds(measuredMs)}, over ${where}; the longest stage was ${longest ? `${longest.name} (${seconds(longest.durationMs)})` : 'not recorded'}`,
  };
}
