import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { captureCommand } from '../../harness/commands/capture.ts';
import { runCommand } from '../../harness/commands/run.ts';
import { UsageError } from '../../harness/errors.ts';
import { makeZ4jDeployment, type Deployment } from '../../scenarios/z4j/sample/deployment.ts';
import { makeEmptyZ4jBackup, makePostRestoreBackup } from '../../scenarios/z4j/sample/special-backups.ts';
import { Z4J_OLDER_VERSION, Z4J_PINNED_VERSION } from '../../scenarios/z4j/version.ts';
import { capture, drill, failures, variant } from '../helpers/drill.ts';
import { skipReason } from './engine.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

/** The expectations contract on real z4j backups made by z4j itself. */
describe.skipIf(skipReason)('z4j drills held to the contract', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-contract-'));
  let good: Deployment;

  beforeAll(async () => {
    const runtime = await testRuntime();
    good = await makeZ4jDeployment({ runtime, version: Z4J_PINNED_VERSION, outDir: dir, name: 'good.db' });
    await capture('z4j', good.archive, good.secrets);
  });

  it('refuses a manifest with thin expectations before anything starts, naming the fields', async () => {
    const archive = variant(good.archive, 'thin.db', (m) => {
      m.expectations = { counts: {} };
    });
    const err = await drill('z4j', archive, { secrets: good.secrets }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    const msg = (err as Error).message;
    expect(msg).toContain('$.expectations.chain');
    expect(msg).toContain('$.expectations.counts.audit_log: an exact row count is required');
    expect(msg).toContain('$.expectations.fingerprints.users');
  });

  it("fails a 1.12.1 backup whose manifest says 1.13.0, naming both versions", async () => {
    const runtime = await testRuntime();
    const older = await makeZ4jDeployment({ runtime, version: Z4J_OLDER_VERSION, outDir: dir, name: 'older.db' });
    // Capture refuses to record a version the backup contradicts.
    await expect(captureCommand({ profile: 'z4j', archive: older.archive, secrets: older.secrets, appVersion: Z4J_PINNED_VERSION, say: () => {} })).rejects.toThrow(
      new RegExp(`records z4j ${Z4J_OLDER_VERSION} .*--app-version says ${Z4J_PINNED_VERSION}`),
    );
    // A hand-edited manifest is caught by the drill.
    await capture('z4j', older.archive, older.secrets);
    const edited = variant(older.archive, 'older-edited.db', (m) => {
      m.app.version = Z4J_PINNED_VERSION;
    });
    const r = await drill('z4j', edited, { secrets: older.secrets });
    expect(r.verdict).toBe('failed');
    // Said at inspect, from the archive's own z4j_meta, before z4j ${Z4J_PINNED_VERSION} could refuse the
    // older archive first; nothing was started.
    expect(failures(r)).toContain(
      `inspect/compare.app-version: the archive records z4j ${Z4J_OLDER_VERSION} but the manifest says ${Z4J_PINNED_VERSION}: the drill would run the wrong version; capture the manifest again from this archive`,
    );
    expect(r.stages.map((s) => s.name)).toEqual(['fetch', 'integrity', 'inspect']);
    expect(r.image).toBeUndefined();
  });

  it("fails with a secret.env whose audit-chain key is right but whose other secrets are another install's, naming the file, before anything starts", async () => {
    const mixed = join(dir, 'mixed.secret.env');
    writeFileSync(mixed, readFileSync(good.secrets, 'utf8').replace(/^Z4J_SESSION_SECRET=.*$/m, 'Z4J_SESSION_SECRET=from-another-install-0123456789abcdef'), { mode: 0o600 });
    const r = await drill('z4j', good.archive, { secrets: mixed });
    expect(r.verdict).toBe('failed');
    const f = failures(r);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatch(new RegExp(`^integrity/compare.secrets-file: secrets file ${mixed} is not the one recorded at capture \\(.*\\): it has the same names \\(.*Z4J_SESSION_SECRET.*\\) with other values`));
    expect(r.stages.map((s) => s.name)).toEqual(['fetch', 'integrity']);
    expect(JSON.stringify(r)).not.toContain('from-another-install-0123456789abcdef');
  });

  it('passes the same secret.env reformatted as z4j reads it identically (CRLF, comments, spaces around "=", another order)', async () => {
    const reformatted = join(dir, 'reformatted.secret.env');
    const lines = readFileSync(good.secrets, 'utf8').trim().split('\n').reverse();
    writeFileSync(reformatted, `# the same secrets\r\n\r\n${lines.map((l) => l.replace('=', ' = ')).join('\r\n')}\r\n`, { mode: 0o600 });
    const r = await drill('z4j', good.archive, { secrets: reformatted });
    expect(failures(r)).toEqual([]);
    expect(r.verdict).toBe('passed');
    expect(r.checks.find((c) => c.id === 'compare.secrets-file')?.reason).toMatch(/holds the names and values recorded at capture \(its bytes differ/);
  });

  it("fails a secret.env z4j would refuse (an export prefix) or read as other values (quotes it keeps), before anything starts", async () => {
    const text = readFileSync(good.secrets, 'utf8');
    const exported = join(dir, 'export.secret.env');
    writeFileSync(exported, text.replace(/^Z4J_SECRET=/m, 'export Z4J_SECRET='), { mode: 0o600 });
    const r = await drill('z4j', good.archive, { secrets: exported });
    expect(r.verdict).toBe('failed');
    expect(r.stages.map((s) => s.name)).toEqual(['fetch', 'integrity']);
    expect(r.checks.find((c) => c.id === 'compare.secrets-file')?.reason).toMatch(/z4j refuses it: secret\.env line \d+ contains unsupported key "export Z4J_SECRET" \(remove the "export " prefix\)/);
    const quoted = join(dir, 'quoted.secret.env');
    writeFileSync(quoted, text.replace(/^Z4J_AUDIT_CHAIN_SECRET=(.*)$/m, 'Z4J_AUDIT_CHAIN_SECRET="$1"'), { mode: 0o600 });
    const q = await drill('z4j', good.archive, { secrets: quoted });
    expect(q.verdict).toBe('failed');
    expect(q.stages.map((s) => s.name)).toEqual(['fetch', 'integrity']);
    expect(q.checks.find((c) => c.id === 'compare.secrets-file')?.reason).toMatch(/with other values/);
  });

  it('fails a backup of an empty data folder by the default policy, and passes the policy where an empty instance is expected', async () => {
    const runtime = await testRuntime();
    const empty = await makeEmptyZ4jBackup(runtime, Z4J_PINNED_VERSION, dir);
    const said: string[] = [];
    await captureCommand({ profile: 'z4j', archive: empty.archive, secrets: empty.secrets, appVersion: Z4J_PINNED_VERSION, force: true, say: (l) => said.push(l) });
    expect(said.join('\n')).toMatch(/warning: .* is an empty backup \(it has no users\)/);
    const r = await drill('z4j', empty.archive, { secrets: empty.secrets });
    expect(r.verdict).toBe('failed');
    expect(failures(r).join('\n')).toMatch(/compare\/compare.policy.empty: the backup is empty: it has no users .*policy: empty backups fail/);
    const accepted = await drill('z4j', empty.archive, { secrets: empty.secrets, acceptEmpty: true });
    expect(accepted.checks.find((c) => c.id === 'compare.policy.empty')).toMatchObject({ status: 'pass', reason: expect.stringMatching(/accepted by the accept-empty policy/) });
  });

  it('passes a backup taken right after a restore (only this drill\'s own restore row is set aside)', async () => {
    const runtime = await testRuntime();
    const post = await makePostRestoreBackup(runtime, Z4J_PINNED_VERSION, good, join(dir, 'post'));
    await capture('z4j', post.archive, post.secrets);
    const r = await drill('z4j', post.archive, { secrets: post.secrets });
    expect(failures(r)).toEqual([]);
    expect(r.verdict).toBe('passed');
  });

  it('reports an archive without a manifest in a folder as unproven and exits non-zero', async () => {
    const folder = join(dir, 'nightly');
    mkdirSync(folder);
    copyFileSync(good.archive, join(folder, 'good.db'));
    copyFileSync(`${good.archive}.manifest.json`, join(folder, 'good.db.manifest.json'));
    copyFileSync(good.archive, join(folder, 'orphan.db'));
    const lines: string[] = [];
    const code = await runCommand({ profile: 'z4j', archives: [folder], secrets: good.secrets, history: false, jobs: 1, json: join(dir, 'nightly.json'), out: (l) => lines.push(l), say: () => {} });
    expect(code).toBe(3);
    const report = JSON.parse(readFileSync(join(dir, 'nightly.json'), 'utf8')) as { drills: Array<{ archive: { file: string }; verdict: string; summary: string; manifest?: { sha256: string } }> };
    expect(report.drills.map((d) => [d.archive.file, d.verdict])).toEqual([
      ['orphan.db', 'error'],
      ['good.db', 'passed'],
    ]);
    expect(report.drills[0]!.summary).toMatch(/^plan: unproven: no manifest \(orphan.db.manifest.json\)/);
    // The report names the manifest it was held against by its exact bytes.
    expect(report.drills[1]!.manifest?.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});
