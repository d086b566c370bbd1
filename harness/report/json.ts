import { resolve } from 'node:path';
import type { Reporter, ReporterOptions } from './reporter.ts';
import { writeFileAtomic } from './write.ts';

export const DEFAULT_JSON = 'restore-drill-report.json';

/** The full report as JSON (with --sign, the signed envelope is written beside it). */
export function jsonReporter(opts: ReporterOptions): Reporter {
  const target = resolve(opts.target ?? DEFAULT_JSON);
  return {
    name: 'json',
    async onRunEnd(run) {
      await writeFileAtomic(target, `${JSON.stringify(run, null, 2)}\n`);
      return target;
    },
  };
}
