import { appendFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { DrillReport } from '../model/types.ts';
import type { Reporter, ReporterOptions } from './reporter.ts';
import { writeFileAtomic } from './write.ts';
import { printable } from '../model/printable.ts';

/**
 * A summary table for CI job pages. Appended to $GITHUB_STEP_SUMMARY when set;
 * written to the target file when one is given; else printed.
 */
export function markdownReporter(opts: ReporterOptions): Reporter {
  return {
    name: 'markdown',
    async onRunEnd(run) {
      const md = markdownSummary(run.drills, run.status);
      const written: string[] = [];
      if (opts.env.GITHUB_STEP_SUMMARY) {
        await appendFile(opts.env.GITHUB_STEP_SUMMARY, md);
        written.push(opts.env.GITHUB_STEP_SUMMARY);
      }
      if (opts.target) {
        await writeFileAtomic(resolve(opts.target), md);
        written.push(resolve(opts.target));
      }
      if (written.length === 0) opts.out(md);
      return written.join(', ') || undefined;
    },
  };
}

const ICON = { passed: '✅', failed: '❌', error: '⚠️' } as const;

export function markdownSummary(drills: DrillReport[], status: string): string {
  const rows = drills.map((d) => {
    const restore = d.stages.find((s) => s.name === 'restore');
    const cell = (s: string) => printable(s).replace(/\|/g, '\\|');
    return `| ${ICON[d.verdict]} ${d.verdict} | \`${cell(d.archive.file)}\` | ${d.app?.version ?? ''} | ${restore ? (restore.durationMs / 1000).toFixed(1) + ' s' : '-'} | ${(d.durationMs / 1000).toFixed(1)} s | ${cell(d.verdict === 'passed' ? `${d.checks.length} checks passed` : d.summary)} |`;
  });
  return [`### restore-drill: ${status}`, '', '| verdict | archive | version | restore | total | detail |', '|---|---|---|---|---|---|', ...rows, '', ''].join('\n');
}
