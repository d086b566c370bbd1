import { resolve } from 'node:path';
import type { DrillReport } from '../model/types.ts';
import type { Reporter, ReporterOptions, RunEndContext } from './reporter.ts';
import { writeFileAtomic } from './write.ts';

export const DEFAULT_METRICS = 'restore-drill.prom';

/**
 * Prometheus text format for node_exporter's textfile collector (write the
 * file into its directory; it is replaced atomically).
 */
export function metricsReporter(opts: ReporterOptions): Reporter {
  const target = resolve(opts.target ?? DEFAULT_METRICS);
  return {
    name: 'metrics',
    // A run that dies before it reports must not leave yesterday's "passed"
    // standing: the file says a run is under way until this run replaces it.
    async onRunStart() {
      await writeFileAtomic(target, runningText());
    },
    async onRunEnd(run, ctx) {
      await writeFileAtomic(target, prometheusText(run.drills, ctx));
      return target;
    },
  };
}

export function prometheusText(drills: DrillReport[], ctx: RunEndContext = {}): string {
  const out: string[] = [];
  const metric = (name: string, help: string, samples: Array<[Record<string, string>, number]>) => {
    if (samples.length === 0) return;
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [labels, value] of samples) out.push(`${name}{${fmtLabels(labels)}} ${value}`);
  };
  // The path, not the file name alone: same-named archives in two folders are two series.
  const base = (d: DrillReport) => ({ profile: d.profile, archive: d.archive.file, path: d.archive.path });
  metric(
    'restore_drill_verdict',
    'Verdict of the latest drill of an archive: 1 for the verdict label that applies.',
    drills.flatMap((d) => (['passed', 'failed', 'error'] as const).map((v): [Record<string, string>, number] => [{ ...base(d), verdict: v }, d.verdict === v ? 1 : 0])),
  );
  metric(
    'restore_drill_last_success_timestamp_seconds',
    'Unix time of the last passed drill of an archive (from this run or the drill history).',
    drills.flatMap((d): Array<[Record<string, string>, number]> => {
      const when = d.verdict === 'passed' ? new Date(d.finishedAt) : (d.archive.sha256 ? ctx.lastPassed?.(d.profile, d.archive.sha256) : undefined);
      return when ? [[base(d), Math.floor(when.getTime() / 1000)]] : [];
    }),
  );
  metric(
    'restore_drill_stage_duration_seconds',
    'Duration of each stage of the latest drill.',
    drills.flatMap((d) => d.stages.map((s): [Record<string, string>, number] => [{ ...base(d), stage: s.name }, round(s.durationMs / 1000)])),
  );
  metric(
    'restore_drill_restore_seconds',
    'Measured time to recover: provision plus restore of the latest drill.',
    drills.flatMap((d): Array<[Record<string, string>, number]> => {
      const r = d.stages.find((s) => s.name === 'restore');
      const p = d.stages.find((s) => s.name === 'provision');
      return r && r.status === 'passed' ? [[base(d), round(((p?.durationMs ?? 0) + r.durationMs) / 1000)]] : [];
    }),
  );
  metric(
    'restore_drill_recovery_seconds',
    "Recovery time of the latest drill: its start (fetch included) until the restored application's first probe check answered.",
    drills.flatMap((d): Array<[Record<string, string>, number]> => (d.recovery?.ms !== undefined ? [[base(d), round(d.recovery.ms / 1000)]] : [])),
  );
  metric(
    'restore_drill_rto_budget_seconds',
    'Recovery-time budget the latest drill was held to (manifest, or a tighter --rto).',
    drills.flatMap((d): Array<[Record<string, string>, number]> => (d.recovery?.budgetMs !== undefined ? [[base(d), round(d.recovery.budgetMs / 1000)]] : [])),
  );
  metric(
    'restore_drill_duration_seconds',
    'Duration of the whole latest drill.',
    drills.map((d): [Record<string, string>, number] => [base(d), round(d.durationMs / 1000)]),
  );
  return `${out.join('\n')}\n`;
}

/** While a run is under way: no verdict to alert on as passed, only that one is running since when. */
export function runningText(now = new Date()): string {
  return [
    '# HELP restore_drill_run_in_progress 1 while a restore-drill run is under way; its verdicts replace this file when it ends.',
    '# TYPE restore_drill_run_in_progress gauge',
    'restore_drill_run_in_progress 1',
    '# HELP restore_drill_run_started_timestamp_seconds Unix time the run under way started.',
    '# TYPE restore_drill_run_started_timestamp_seconds gauge',
    `restore_drill_run_started_timestamp_seconds ${Math.floor(now.getTime() / 1000)}`,
    '',
  ].join('\n');
}

function fmtLabels(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`)
    .join(',');
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
