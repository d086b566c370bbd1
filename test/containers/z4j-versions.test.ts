import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gateCommand } from '../../harness/commands/gate.ts';
import { RunReportSchema } from '../../harness/report/schema.ts';
import { makeZ4jDeployment } from '../../scenarios/z4j/sample/deployment.ts';
import { Z4J_FIRST_CHAIN_VERSION, Z4J_PINNED_VERSION, Z4J_SECOND_CHAIN_VERSION } from '../../scenarios/z4j/version.ts';
import { capture, drill, failures } from '../helpers/drill.ts';
import { skipReason } from './engine.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

/**
 * Every z4j release with an authenticated audit chain drills with its own
 * image and its own wording (1.12.1 and 1.13.0 are drilled in z4j-drill.test.ts),
 * and the oldest gates to the pinned release.
 */
describe.skipIf(skipReason)('z4j releases from the first authenticated chain', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-z4j-versions-'));

  for (const version of [Z4J_FIRST_CHAIN_VERSION, Z4J_SECOND_CHAIN_VERSION]) {
    it(`passes a real z4j ${version} backup, reading that version's own output`, async () => {
      const runtime = await testRuntime();
      const d = await makeZ4jDeployment({ runtime, version, outDir: join(dir, version), name: `z4j-${version}.db` });
      await capture('z4j', d.archive, d.secrets);
      const r = await drill('z4j', d.archive, { secrets: d.secrets });
      expect(failures(r)).toEqual([]);
      expect(r.verdict).toBe('passed');
      expect(r.image?.tag).toContain(`restore-drill/z4j:${version}-`);
      const ids = r.checks.filter((c) => c.status === 'pass').map((c) => c.id);
      for (const id of ['app.check', 'app.status.sessions', 'app.audit-verify', 'app.audit-verify.rows', 'compare.chain-state.archive', 'compare.chain-state.restored']) expect(ids).toContain(id);
      expect(r.checks.find((c) => c.id === 'app.status.version')).toBeUndefined();
    });
  }

  it(`gates a ${Z4J_FIRST_CHAIN_VERSION} backup to ${Z4J_PINNED_VERSION}: migrated, counts and chain preserved`, async () => {
    const archiveDir = join(dir, Z4J_FIRST_CHAIN_VERSION);
    const secrets = join(archiveDir, `z4j-${Z4J_FIRST_CHAIN_VERSION}.db.secret.env`);
    const json = join(dir, 'gate.json');
    const code = await gateCommand({ profile: 'z4j', archive: join(archiveDir, `z4j-${Z4J_FIRST_CHAIN_VERSION}.db`), toVersion: Z4J_PINNED_VERSION, secrets, reporters: [`json=${json}`], history: false, out: () => {}, say: () => {} });
    const d = RunReportSchema.parse(JSON.parse(readFileSync(json, 'utf8'))).drills[0]!;
    expect(d.checks.filter((c) => c.status !== 'pass')).toEqual([]);
    expect(code).toBe(0);
    expect(d.upgrade?.image?.tag).toContain(`z4j:${Z4J_PINNED_VERSION}-`);
    const after = d.checks.filter((c) => c.stage === 'post-upgrade').map((c) => c.id);
    for (const id of ['app.migration-head', 'upgrade.count.audit_log', 'upgrade.chain.walk', 'app.audit-verify']) expect(after).toContain(id);
  });
});
