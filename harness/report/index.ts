import { UsageError } from '../errors.ts';
import { consoleReporter } from './console.ts';
import { htmlReporter } from './html.ts';
import { jsonReporter, DEFAULT_JSON } from './json.ts';
import { junitReporter } from './junit.ts';
import { markdownReporter } from './markdown.ts';
import { metricsReporter } from './metrics.ts';
import type { Reporter, ReporterOptions } from './reporter.ts';

export type { Reporter, ReporterOptions, RunEndContext } from './reporter.ts';
export type { RunReport } from './run-report.ts';

/** Reporters by name, as `--reporter NAME[=PATH]` picks them. */
export const REPORTERS: Record<string, (opts: ReporterOptions) => Reporter> = {
  console: consoleReporter,
  json: jsonReporter,
  junit: junitReporter,
  markdown: markdownReporter,
  html: htmlReporter,
  metrics: metricsReporter,
};

export interface ReporterSpec {
  name: string;
  target?: string;
}

/** "junit=out/junit.xml" -> { name: 'junit', target: 'out/junit.xml' }; unknown names are a usage error. */
export function parseReporterSpecs(specs: string[]): ReporterSpec[] {
  return specs
    .flatMap((s) => s.split(','))
    .filter(Boolean)
    .map((s) => {
      const [name, ...rest] = s.split('=');
      if (!name || !REPORTERS[name]) throw new UsageError(`unknown reporter "${name}" (known: ${Object.keys(REPORTERS).join(', ')})`, 'RD_UNKNOWN_REPORTER');
      return rest.length > 0 ? { name, target: rest.join('=') } : { name };
    });
}

export function createReporters(specs: ReporterSpec[], base: Omit<ReporterOptions, 'target'>): Reporter[] {
  return specs.map((s) => REPORTERS[s.name]!({ ...base, ...(s.target ? { target: s.target } : {}) }));
}

/** Where the signed envelope of a JSON report goes: report.json -> report.dsse.json. */
export function envelopePath(jsonTarget: string | undefined): string {
  return (jsonTarget ?? DEFAULT_JSON).replace(/(\.json)?$/, '.dsse.json');
}
