import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../harness/model/types.ts';
import type { Manifest } from '../../harness/manifest/schema.ts';
import type { ExecOutcome } from '../../harness/runtime/index.ts';
import { judgeApp, type Z4jObservations } from '../../scenarios/z4j/app-checks.ts';

// z4j 1.13.0's real output (fixtures/z4j-output/), judged against a manifest of the same install.
const fixtures = join(import.meta.dirname, 'fixtures');
const real = (c: string) => readFileSync(join(fixtures, 'z4j-output', '1.13.0', `${c}.stdout`), 'utf8');
const ran = (stdout: string, exitCode = 0): ExecOutcome => ({ command: [], exitCode, stdout, stderr: '', durationMs: 1 });
const manifest = JSON.parse(readFileSync(join(fixtures, 'manifests', 'z4j-sqlite-1.13.0.manifest.json'), 'utf8')) as Manifest;
// That install's counts; z4j status's 40 audit rows include the one row this drill's restore appended.
manifest.expectations.counts = { users: 4, projects: 3, agents: 6, tasks: 30, sessions: 4, audit_log: 39 };
const HEAD = 'v1_12_auditor_role';

function said(edit: (s: Z4jObservations) => void = () => {}): Z4jObservations {
  const s: Z4jObservations = {
    version: '1.13.0',
    check: ran(real('check')),
    migrationHeads: ran(`${HEAD}\n`),
    status: ran(real('status')),
    auditVerify: ran(real('verify')),
    restoreRows: [{ metadata: JSON.stringify({ source_stage_digest: manifest.archive.sha256 }) }],
    walkedRows: 40,
  };
  edit(s);
  return s;
}
const judge = (s: Z4jObservations, revision: string | null = HEAD): Finding[] =>
  judgeApp(manifest, { restored: { counts: {}, fingerprints: {}, ...(revision ? { schemaRevision: revision } : {}) }, profile: s });
const notPassed = (fs: Finding[]) => fs.filter((f) => f.status !== 'pass').map((f) => `${f.id} ${f.status}`);

describe("z4j's own word, judged", () => {
  it('passes real output that agrees with the manifest, the recorded head and the harness', () => {
    expect(notPassed(judge(said()))).toEqual([]);
  });

  // Each case takes one thing the verdict rests on away or changes it: none may leave the judgement passing.
  const cases: Array<[string, () => Finding[], string]> = [
    ['no migration revision read from the restored database', () => judge(said(), null), 'app.migration-head fail'],
    ['a restored revision that is not the head', () => judge(said(), 'v1_11_audit_append_tally'), 'app.migration-head fail'],
    ['no head recorded in the image', () => judge(said((s) => void (s.migrationHeads = ran('', 1)))), 'app.migration-head error'],
    ['a heads file that is not revisions', () => judge(said((s) => void (s.migrationHeads = ran('Traceback (most recent call last):\n')))), 'app.migration-head error'],
    ['two migration heads', () => judge(said((s) => void (s.migrationHeads = ran(`${HEAD}\nother_head\n`)))), 'app.migration-head error'],
    ['heads not read at all', () => judge(said((s) => void delete s.migrationHeads)), 'app.migration-head error'],
    ['z4j check naming another revision than the harness read', () => judge(said((s) => void (s.check = ran(real('check').replace(`at ${HEAD}`, 'at v1_11_x'))))), 'app.migration-head fail'],
    ['a line z4j check never prints', () => judge(said((s) => void (s.check = ran(real('check').replace('  config', '  FAIL   x\n  config'))))), 'app.check error'],
    ['z4j status of another version', () => judge(said((s) => void (s.version = '1.12.1'))), 'app.status.version fail'],
    ['mismatches listed by z4j audit verify under exit 0', () => judge(said((s) => void (s.auditVerify = ran(`${real('verify')}MISMATCHES (1):\n  abc active row HMAC mismatch\n`)))), 'app.audit-verify fail'],
    ['z4j verifying fewer rows than the harness walked', () => judge(said((s) => void (s.walkedRows = 41))), 'app.audit-verify.rows fail'],
    ['no harness walk to compare with', () => judge(said((s) => void delete s.walkedRows)), 'app.audit-verify.rows error'],
  ];
  for (const [what, run, expected] of cases) {
    it(`does not pass ${what}`, () => {
      expect(notPassed(run())).toContain(expected);
    });
  }
});
