import type { DrillReport } from '../drill/types.ts';

/** One line per archive: verdict, archive, stage timings, and the reason when not passed. */
export function consoleLine(r: DrillReport): string {
  const timings = r.stages.map((s) => `${s.name} ${fmt(s.durationMs)}${s.status === 'passed' ? '' : ` (${s.status})`}`).join(', ');
  const head = `${r.verdict.toUpperCase().padEnd(6)} ${r.archive.file}  [${timings}]  total ${fmt(r.durationMs)}`;
  return r.verdict === 'passed' ? head : `${head}\n       ${r.summary}`;
}

/** Every non-passing check, one per line (after the summary line). */
export function consoleFindings(r: DrillReport): string[] {
  return r.checks.filter((c) => c.status !== 'pass').map((c) => `       - [${c.status}] ${c.stage}/${c.id}: ${c.reason}`);
}

function fmt(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
}
