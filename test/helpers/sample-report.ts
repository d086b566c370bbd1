import type { DrillReport } from '../../harness/model/types.ts';
import type { RunReport } from '../../harness/report/index.ts';

/** A plausible run of two drills (one passed, one failed) for reporter tests. */
export function sampleRun(): RunReport {
  const stages = (['integrity', 'inspect', 'provision', 'restore', 'probe', 'compare'] as const).map((name, i) => ({ name, status: 'passed' as const, durationMs: 100 * (i + 1) }));
  const base: DrillReport = {
    drillId: '20261122T010000-abc123',
    profile: 'z4j',
    archive: { path: '/backups/good.db', file: 'good.db', sha256: 'a'.repeat(64), sizeBytes: 1234, createdAt: '2026-11-21T00:00:00.000Z' },
    manifest: { path: '/backups/good.db.manifest.json', sha256: 'c'.repeat(64) },
    app: { name: 'z4j', version: '1.13.0' },
    image: { tag: 'restore-drill/z4j:1.13.0-0123456789ab', id: 'sha256:' + 'b'.repeat(64), cacheHit: true },
    verdict: 'passed',
    summary: '2 checks passed',
    stages,
    checks: [
      { id: 'integrity.sha256', stage: 'integrity', status: 'pass', reason: 'sha256 matches the manifest', expected: 'a'.repeat(64), observed: 'a'.repeat(64) },
      { id: 'compare.count.users', stage: 'compare', status: 'pass', reason: 'users: 4 rows as expected', expected: 4, observed: 4 },
    ],
    startedAt: '2026-11-22T01:00:00.000Z',
    finishedAt: '2026-11-22T01:00:10.000Z',
    durationMs: 10_000,
  };
  const failed: DrillReport = {
    ...base,
    drillId: '20261122T010010-def456',
    archive: { ...base.archive, path: '/backups/bad <&> "x".db', file: 'bad <&> "x".db', sha256: 'd'.repeat(64) },
    verdict: 'failed',
    summary: 'compare: users: expected 5 rows, observed 4',
    stages: stages.map((s) => (s.name === 'compare' ? { ...s, status: 'failed' as const } : s)),
    checks: [base.checks[0]!, { id: 'compare.count.users', stage: 'compare', status: 'fail', reason: 'users: expected 5 rows, observed 4', expected: 5, observed: 4 }],
  };
  return { tool: { name: 'restore-drill', version: '0.1.0' }, status: 'failed', startedAt: base.startedAt, finishedAt: failed.finishedAt, drills: [base, failed] };
}
