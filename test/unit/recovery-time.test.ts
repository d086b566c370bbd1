import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { budgetFor, rtoFinding } from '../../harness/drill/recovery-time.ts';
import { History } from '../../harness/history/store.ts';
import { junitXml } from '../../harness/report/junit.ts';
import { prometheusText } from '../../harness/report/metrics.ts';
import type { Manifest } from '../../harness/manifest/schema.ts';
import type { DrillReport, StageTiming } from '../../harness/model/types.ts';

const withBudget = (rtoSeconds?: number) => ({ policy: rtoSeconds === undefined ? undefined : { rtoSeconds } }) as unknown as Manifest;
const stages: StageTiming[] = [
  { name: 'fetch', status: 'passed', durationMs: 4_000 },
  { name: 'integrity', status: 'passed', durationMs: 10 },
  { name: 'inspect', status: 'passed', durationMs: 500 },
  { name: 'provision', status: 'passed', durationMs: 2_000 },
  { name: 'restore', status: 'passed', durationMs: 70_000 },
  { name: 'probe', status: 'passed', durationMs: 3_000 },
];

describe('recovery-time budget', () => {
  it("binds the manifest's budget: a larger --rto cannot loosen it, a smaller one tightens it", () => {
    expect(budgetFor(withBudget(60), { rtoMs: 900_000 })).toEqual({ ms: 60_000, from: 'manifest', warnOnly: false });
    expect(budgetFor(withBudget(60), { rtoMs: 30_000 })).toEqual({ ms: 30_000, from: 'command line', warnOnly: false });
    expect(budgetFor(withBudget(60), {})).toEqual({ ms: 60_000, from: 'manifest', warnOnly: false });
    expect(budgetFor(withBudget(undefined), { rtoMs: 30_000, rtoWarn: true })).toEqual({ ms: 30_000, from: 'command line', warnOnly: true });
    expect(budgetFor(withBudget(undefined), {})).toBeUndefined();
  });

  it('fails a recovery over budget naming the budget, the measured time and the longest stage; passes one within', () => {
    const over = rtoFinding({ ms: 60_000, from: 'manifest', warnOnly: false }, 80_000, stages);
    expect(over.status).toBe('fail');
    expect(over.id).toBe('rto.budget');
    expect(over.reason).toBe('recovery took 80.0 s, over the budget 60.0 s (recorded in the manifest); the longest stage was restore (70.0 s)');
    const within = rtoFinding({ ms: 90_000, from: 'command line', warnOnly: false }, 80_000, stages);
    expect(within).toMatchObject({ status: 'pass', reason: 'recovered in 80.0 s, within the budget 90.0 s (--rto)' });
  });
});

describe('recovery time in reports and history', () => {
  const report = {
    drillId: 'd1', profile: 'z4j', archive: { path: 's3://b/z4j/a.db', file: 'a.db', sha256: 'a'.repeat(64), sizeBytes: 3 },
    verdict: 'failed', summary: 'compare: recovery took 80.0 s', stages, checks: [], startedAt: '2026-12-01T00:00:00.000Z', finishedAt: '2026-12-01T00:01:30.000Z', durationMs: 90_000,
    recovery: { ms: 80_000, budgetMs: 60_000, budgetFrom: 'manifest', longestStage: 'restore' },
  } satisfies DrillReport;

  it('JUnit carries the recovery time against its budget; metrics export both as gauges per archive', () => {
    const xml = junitXml([report]);
    expect(xml).toContain('<property name="recoverySeconds" value="80.0"/>');
    expect(xml).toContain('<property name="rtoBudgetSeconds" value="60"/>');
    const prom = prometheusText([report]);
    expect(prom).toContain('restore_drill_recovery_seconds{profile="z4j",archive="a.db",path="s3://b/z4j/a.db"} 80');
    expect(prom).toContain('restore_drill_rto_budget_seconds{profile="z4j",archive="a.db",path="s3://b/z4j/a.db"} 60');
  });

  it('the history stores each drill\'s recovery time and budget, and an older history file gains the columns', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rd-rto-history-'));
    try {
      const path = join(dir, 'h.db');
      // A file as written before recovery times were recorded.
      const old = new Database(path);
      old.exec(`CREATE TABLE drills (drill_id TEXT PRIMARY KEY, profile TEXT NOT NULL, archive_path TEXT NOT NULL, archive_file TEXT NOT NULL, archive_sha256 TEXT, app_version TEXT,
        verdict TEXT NOT NULL CHECK (verdict IN ('passed','failed','error')), summary TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT NOT NULL, duration_ms REAL NOT NULL, restore_ms REAL)`);
      old.close();
      const h = History.open(path);
      h.record(report);
      const [row] = h.drills();
      expect(row).toMatchObject({ recoveryMs: 80_000, rtoBudgetMs: 60_000 });
      h.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
