import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseJunit } from 'junit2json';
import { beforeAll, describe, expect, it } from 'vitest';
import { gateCommand } from '../../harness/commands/gate.ts';
import { RunReportSchema } from '../../harness/report/schema.ts';
import { makeZ4jDeployment, type Deployment } from '../../scenarios/z4j/sample/deployment.ts';
import { Z4J_BEFORE_SCHEMA_VERSION, Z4J_OLDER_VERSION, Z4J_PINNED_VERSION } from '../../scenarios/z4j/version.ts';
import { capture } from '../helpers/drill.ts';
import { makeZ4jPgDeployment } from '../../scenarios/z4j/pg/sample/deployment.ts';
import { Z4J_PG_TEST_MAJOR } from '../../scenarios/z4j/pg/image.ts';
import { skipReason } from './engine.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

describe.skipIf(skipReason)('pre-upgrade gate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-gate-'));
  let older: Deployment;
  let current: Deployment;

  beforeAll(async () => {
    const runtime = await testRuntime();
    older = await makeZ4jDeployment({ runtime, version: Z4J_OLDER_VERSION, outDir: join(dir, 'older'), name: 'older.db' });
    await capture('z4j', older.archive, older.secrets);
    current = await makeZ4jDeployment({ runtime, version: Z4J_PINNED_VERSION, outDir: join(dir, 'current'), name: 'current.db' });
    await capture('z4j', current.archive, current.secrets);
  });

  it(`passes a good ${Z4J_OLDER_VERSION} backup upgraded to ${Z4J_PINNED_VERSION}, counts and chain preserved`, async () => {
    const json = join(dir, 'gate.json');
    const junit = join(dir, 'gate.xml');
    const code = await gateCommand({ profile: 'z4j', archive: join(dir, 'older'), toVersion: Z4J_PINNED_VERSION, secrets: older.secrets, reporters: [`json=${json}`, `junit=${junit}`], history: false, out: () => {}, say: () => {} });
    const d = RunReportSchema.parse(JSON.parse(readFileSync(json, 'utf8'))).drills[0]!;
    expect(d.checks.filter((c) => c.status !== 'pass')).toEqual([]);
    expect(code).toBe(0);
    expect(d.image?.tag).toContain(`z4j:${Z4J_OLDER_VERSION}-`);
    expect(d.upgrade?.image?.tag).toContain(`z4j:${Z4J_PINNED_VERSION}-`);
    expect(d.stages.map((s) => s.name)).toEqual(['fetch', 'integrity', 'inspect', 'provision', 'restore', 'probe', 'compare', 'upgrade', 'post-upgrade']);
    const after = d.checks.filter((c) => c.stage === 'post-upgrade').map((c) => c.id);
    for (const id of ['app.migration-head', 'upgrade.count.users', 'upgrade.count.audit_log', 'upgrade.chain.head', 'upgrade.chain.walk', 'app.audit-verify']) expect(after).toContain(id);
    expect(d.checks.find((c) => c.stage === 'post-upgrade' && c.id === 'app.migration-head')?.reason).toContain(`z4j ${Z4J_PINNED_VERSION}'s migration head`);
    // JUnit names each step of the gate.
    const parsed = (await parseJunit(readFileSync(junit, 'utf8'))) as { testsuite: Array<{ testcase: Array<{ classname: string; name: string }> }> };
    const classes = new Set(parsed.testsuite[0]!.testcase.map((t) => t.classname.split('.').pop()));
    expect([...classes]).toEqual(expect.arrayContaining(['restore', 'probe', 'compare', 'upgrade', 'post-upgrade']));
  });

  it(`fails when the target version cannot migrate the restored data, quoting the migration's error`, async () => {
    const json = join(dir, 'gate-down.json');
    const code = await gateCommand({ profile: 'z4j', archive: current.archive, toVersion: Z4J_BEFORE_SCHEMA_VERSION, secrets: current.secrets, reporters: [`json=${json}`], history: false, out: () => {}, say: () => {} });
    const d = RunReportSchema.parse(JSON.parse(readFileSync(json, 'utf8'))).drills[0]!;
    expect(code).toBe(1);
    expect(d.verdict).toBe('failed');
    expect(d.summary).toMatch(new RegExp(`^upgrade: z4j ${Z4J_BEFORE_SCHEMA_VERSION.replace(/\./g, '\\.')} cannot migrate the restored data \\(exit \\d+\\): .*v1_12_auditor_role`));
  });

  it(`passes a PostgreSQL backup of ${Z4J_OLDER_VERSION} upgraded to ${Z4J_PINNED_VERSION}`, async () => {
    const runtime = await testRuntime();
    const pg = await makeZ4jPgDeployment({ runtime, version: Z4J_OLDER_VERSION, pgMajor: Z4J_PG_TEST_MAJOR, outDir: join(dir, 'pg'), name: 'older.dump' });
    try {
      await capture('z4j', pg.archive, pg.secrets);
      const json = join(dir, 'gate-pg.json');
      const code = await gateCommand({ profile: 'z4j', archive: pg.archive, toVersion: Z4J_PINNED_VERSION, secrets: pg.secrets, reporters: [`json=${json}`], history: false, out: () => {}, say: () => {} });
      const d = RunReportSchema.parse(JSON.parse(readFileSync(json, 'utf8'))).drills[0]!;
      expect(d.checks.filter((c) => c.status !== 'pass')).toEqual([]);
      expect(code).toBe(0);
      expect(d.upgrade?.image?.tag).toContain(`z4j-pg:${Z4J_PINNED_VERSION}-`);
      expect(d.checks.find((c) => c.stage === 'upgrade' && c.id === 'upgrade.migrate')?.reason).toBe(`z4j ${Z4J_PINNED_VERSION} migrated the restored database (z4j migrate upgrade head)`);
      expect(d.checks.filter((c) => c.stage === 'post-upgrade').map((c) => c.id)).toEqual(expect.arrayContaining(['upgrade.chain.head', 'upgrade.count.audit_log', 'upgrade.fingerprint.users']));
    } finally {
      await pg.stop();
    }
  });
});
