import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseJunit } from 'junit2json';
import { describe, expect, it } from 'vitest';
import { junitXml } from '../../harness/report/junit.ts';
import { markdownReporter } from '../../harness/report/markdown.ts';
import { prometheusText } from '../../harness/report/metrics.ts';
import { RunReportSchema, reportJsonSchema } from '../../harness/report/schema.ts';
import { parseReporterSpecs } from '../../harness/report/index.ts';
import { sampleRun } from '../helpers/sample-report.ts';

describe('reporters', () => {
  it('junit: one testsuite per archive, one testcase per check, failures with reason, expected and observed', async () => {
    const xml = junitXml(sampleRun().drills);
    const parsed = (await parseJunit(xml)) as { testsuite: Array<{ name: string; tests: number; failures: number; testcase: Array<{ name: string; failure?: Array<{ message: string; inner: string }> }> }> };
    expect(parsed.testsuite.map((s) => [s.name, s.tests, s.failures])).toEqual([
      ['z4j: good.db', 2, 0],
      ['z4j: bad <&> "x".db', 2, 1],
    ]);
    const failing = parsed.testsuite[1]!.testcase.find((t) => t.failure)!;
    expect(failing.name).toBe('compare.count.users');
    expect(failing.failure![0]!.message).toBe('users: expected 5 rows, observed 4');
    expect(failing.failure![0]!.inner).toContain('expected: 5');
    expect(failing.failure![0]!.inner).toContain('observed: 4');
  });

  it('markdown: appends to $GITHUB_STEP_SUMMARY, keeping what was there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rd-md-'));
    const summary = join(dir, 'summary.md');
    writeFileSync(summary, '# earlier step\n');
    const printed: string[] = [];
    const r = markdownReporter({ env: { GITHUB_STEP_SUMMARY: summary }, out: (l) => printed.push(l), err: process.stderr });
    await r.onRunEnd!(sampleRun(), {});
    const text = readFileSync(summary, 'utf8');
    expect(text.startsWith('# earlier step\n### restore-drill: failed')).toBe(true);
    expect(text).toContain('| ❌ failed | `bad <&> "x".db` | 1.13.0 | 0.4 s | 10.0 s | compare: users: expected 5 rows, observed 4 |');
    expect(printed).toEqual([]);
  });

  it('metrics: Prometheus text with verdicts, last success (from history when this run failed), stage durations, restore seconds', () => {
    const lastPassed = new Date('2026-11-20T00:00:00Z');
    const run = sampleRun();
    const badSha = run.drills[1]!.archive.sha256;
    const text = prometheusText(run.drills, { lastPassed: (_p, sha) => (sha === badSha ? lastPassed : undefined) });
    const lines = text.trim().split('\n');
    for (const l of lines) expect(l).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+\{(\w+="(?:[^"\\]|\\.)*",?)+\} -?[\d.e+]+)$/);
    expect(lines).toContain('restore_drill_verdict{profile="z4j",archive="good.db",path="/backups/good.db",verdict="passed"} 1');
    expect(lines).toContain('restore_drill_verdict{profile="z4j",archive="bad <&> \\"x\\".db",path="/backups/bad <&> \\"x\\".db",verdict="failed"} 1');
    expect(lines).toContain(`restore_drill_last_success_timestamp_seconds{profile="z4j",archive="good.db",path="/backups/good.db"} ${Date.parse('2026-11-22T01:00:10Z') / 1000}`);
    expect(lines).toContain(`restore_drill_last_success_timestamp_seconds{profile="z4j",archive="bad <&> \\"x\\".db",path="/backups/bad <&> \\"x\\".db"} ${lastPassed.getTime() / 1000}`);
    expect(lines).toContain('restore_drill_stage_duration_seconds{profile="z4j",archive="good.db",path="/backups/good.db",stage="restore"} 0.4');
    expect(lines).toContain('restore_drill_restore_seconds{profile="z4j",archive="good.db",path="/backups/good.db"} 0.7');
  });

  it('metrics: same-named archives in two folders are two series; a run under way replaces yesterday\'s verdicts', async () => {
    const [good] = sampleRun().drills;
    const other = { ...good!, archive: { ...good!.archive, path: '/other/good.db' } };
    const series = prometheusText([good!, other]).split('\n').filter((l) => l.startsWith('restore_drill_verdict{') && l.endsWith(' 1'));
    expect(series).toHaveLength(2);
    const { metricsReporter, runningText } = await import('../../harness/report/metrics.ts');
    const dir = mkdtempSync(join(tmpdir(), 'rd-prom-'));
    const target = join(dir, 'r.prom');
    writeFileSync(target, prometheusText([good!]));
    await metricsReporter({ target, env: {}, out: () => {}, err: process.stderr }).onRunStart?.(['/backups/good.db']);
    const text = readFileSync(target, 'utf8');
    expect(text).not.toContain('verdict="passed"');
    expect(text).toContain('restore_drill_run_in_progress 1');
    expect(runningText()).toMatch(/restore_drill_run_started_timestamp_seconds \d+/);
  });

  it('json: the report matches its published schema', () => {
    expect(RunReportSchema.safeParse(sampleRun()).success).toBe(true);
    const published = JSON.parse(readFileSync(new URL('../../schema/report.schema.json', import.meta.url), 'utf8')) as unknown;
    expect(published).toEqual(reportJsonSchema());
  });

  it('refuses an unknown reporter name', () => {
    expect(() => parseReporterSpecs(['console,xml'])).toThrow(/unknown reporter "xml"/);
    expect(parseReporterSpecs(['json=a.json,junit', 'html=x=y.html'])).toEqual([{ name: 'json', target: 'a.json' }, { name: 'junit' }, { name: 'html', target: 'x=y.html' }]);
  });
});

describe('console reporter', () => {
  const fakeErr = (isTTY: boolean) => {
    const chunks: string[] = [];
    return { chunks, stream: { isTTY, write: (s: string) => (chunks.push(s), true) } as unknown as NodeJS.WriteStream };
  };

  it('draws a live line per running drill on a TTY, then prints the result line', async () => {
    const { consoleReporter } = await import('../../harness/report/console.ts');
    const err = fakeErr(true);
    const out: string[] = [];
    const r = consoleReporter({ env: {}, out: (l) => out.push(l), err: err.stream });
    r.onRunStart!(['/b/a.db', '/b/c.db', '/b/d.db']);
    r.onStage!('/b/a.db', 'restore');
    r.onStage!('/b/c.db', 'probe');
    await new Promise((res) => setTimeout(res, 300));
    const drawn = err.chunks.join('');
    expect(drawn).toMatch(/a\.db: restore \d+s\n/);
    expect(drawn).toMatch(/c\.db: probe \d+s\n/);
    expect(drawn).toMatch(/0 of 3 drills done, 2 running, \d+s\n/);
    r.onDrillEnd!(sampleRun().drills[0]!);
    r.onDrillEnd!({ ...sampleRun().drills[1]!, archive: { ...sampleRun().drills[1]!.archive, path: '/b/c.db' } });
    expect(out[0]).toMatch(/^PASSED good\.db  \[integrity 100ms, inspect 200ms, provision 300ms, restore 400ms, probe 500ms, compare 600ms\]  total 10\.0s$/);
  });

  it('writes plain timestamped lines when not a TTY (logs, CI)', async () => {
    const { consoleReporter } = await import('../../harness/report/console.ts');
    const err = fakeErr(false);
    const r = consoleReporter({ env: {}, out: () => {}, err: err.stream });
    r.onStage!('/b/a.db', 'restore');
    expect(err.chunks).toEqual([expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z a\.db: restore\n$/)]);
  });
});

describe('names that try to print a line of their own', () => {
  it('are escaped in the console line and its findings', async () => {
    const { consoleLine, consoleFindings } = await import('../../harness/report/console.ts');
    const [, bad] = sampleRun().drills;
    const sneaky = { ...bad!, archive: { ...bad!.archive, file: 'x\nPASSED y.db\u001b[2K' }, checks: [{ ...bad!.checks[1]!, reason: 'quoted\r\nPASSED z.db' }] };
    const text = [consoleLine(sneaky), ...consoleFindings(sneaky)].join('\n');
    expect(text.split('\n')).toHaveLength(3); // the verdict line, the summary, one finding
    expect(text).toContain('x\\nPASSED y.db\\x1b[2K');
    expect(text).toContain('quoted\\r\\nPASSED z.db');
    expect(text.split('\n').filter((l) => l.startsWith('PASSED'))).toEqual([]);
  });
});
