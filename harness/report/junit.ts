import { resolve } from 'node:path';
import type { CheckResult, DrillReport } from '../model/types.ts';
import type { Reporter, ReporterOptions } from './reporter.ts';
import { show, writeFileAtomic, xmlEscape } from './write.ts';

export const DEFAULT_JUNIT = 'restore-drill-junit.xml';

/** JUnit XML: one testsuite per archive, one testcase per check. */
export function junitReporter(opts: ReporterOptions): Reporter {
  const target = resolve(opts.target ?? DEFAULT_JUNIT);
  return {
    name: 'junit',
    async onRunEnd(run) {
      await writeFileAtomic(target, junitXml(run.drills));
      return target;
    },
  };
}

/** Recovery time against its budget, in seconds, as suite properties (the rto.budget check is a testcase of its own). */
function recoveryProperties(d: DrillReport): Record<string, string> {
  const r = d.recovery;
  if (!r) return {};
  return {
    ...(r.ms !== undefined ? { recoverySeconds: (r.ms / 1000).toFixed(1) } : {}),
    ...(r.budgetMs !== undefined ? { rtoBudgetSeconds: (r.budgetMs / 1000).toFixed(0), rtoBudgetFrom: r.budgetFrom ?? '' } : {}),
    ...(r.longestStage ? { longestStage: r.longestStage } : {}),
  };
}

export function junitXml(drills: DrillReport[]): string {
  const count = (d: DrillReport, s: CheckResult['status']) => d.checks.filter((c) => c.status === s).length;
  const total = drills.reduce((n, d) => n + d.checks.length, 0);
  const failures = drills.reduce((n, d) => n + count(d, 'fail'), 0);
  const errors = drills.reduce((n, d) => n + count(d, 'error'), 0);
  const seconds = drills.reduce((n, d) => n + d.durationMs, 0) / 1000;
  const lines = [`<?xml version="1.0" encoding="UTF-8"?>`, `<testsuites name="restore-drill" tests="${total}" failures="${failures}" errors="${errors}" time="${seconds.toFixed(3)}">`];
  for (const d of drills) {
    const suite = `${d.profile}: ${d.archive.file}`;
    lines.push(
      `  <testsuite name="${xmlEscape(suite)}" tests="${d.checks.length}" failures="${count(d, 'fail')}" errors="${count(d, 'error')}" skipped="0" time="${(d.durationMs / 1000).toFixed(3)}" timestamp="${d.startedAt}">`,
    );
    lines.push('    <properties>');
    for (const [k, v] of Object.entries({ verdict: d.verdict, summary: d.summary, archive: d.archive.path, sha256: d.archive.sha256 ?? '', image: d.image?.tag ?? '', imageId: d.image?.id ?? '', appVersion: d.app?.version ?? '', ...recoveryProperties(d) })) {
      lines.push(`      <property name="${k}" value="${xmlEscape(v)}"/>`);
    }
    lines.push('    </properties>');
    for (const c of d.checks) {
      const head = `    <testcase classname="${xmlEscape(`${suite}.${c.stage}`)}" name="${xmlEscape(c.id)}" time="0">`;
      const detail = [c.reason, c.expected !== undefined ? `expected: ${show(c.expected)}` : '', c.observed !== undefined ? `observed: ${show(c.observed)}` : ''].filter(Boolean).join('\n');
      if (c.status === 'pass') lines.push(`${head}<system-out>${xmlEscape(c.reason)}</system-out></testcase>`);
      else {
        const tag = c.status === 'fail' ? 'failure' : 'error';
        lines.push(`${head}<${tag} message="${xmlEscape(c.reason)}" type="${c.status}">${xmlEscape(detail)}</${tag}></testcase>`);
      }
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>', '');
  return lines.join('\n');
}
