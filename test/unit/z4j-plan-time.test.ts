import { dockerRuntime } from '../../harness/runtime/docker.ts';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runDrill } from '../../harness/drill/run-drill.ts';
import type { DrillPlan } from '../../harness/drill/plan.ts';
import type { DrillReport } from '../../harness/model/types.ts';
import type { Engine } from '../../harness/runtime/engine.ts';
import type { Manifest } from '../../harness/manifest/schema.ts';
import { z4jProfile } from '../../scenarios/z4j/index.ts';
import { captureZ4j } from '../../scenarios/z4j/capture.ts';
import { FIXTURE_CHAIN_SECRET, fixtureSecretEnv, smallZ4jBackup } from '../helpers/z4j-small-backup.ts';
import { readSecretsFile } from '../../harness/files/secrets-file.ts';

/**
 * What is known before anything starts is judged before anything starts: the
 * secret.env against the one recorded at capture (as z4j reads it), the
 * archive's own version against the manifest's, an archive that is not SQLite.
 * The drills run with an engine that cannot start anything: a drill that got
 * as far as provisioning would end `error` (the engine throws) with a
 * provision stage, so `failed` with no provision stage is the proof that
 * nothing was started.
 */
const dir = mkdtempSync(join(tmpdir(), 'rd-z4j-plan-'));
const noEngine = {
  get docker(): never {
    throw new Error('nothing may be started in this test');
  },
} as unknown as Engine;

let archive: string;
let manifest: Manifest;

beforeAll(async () => {
  archive = smallZ4jBackup(dir, 'plan.db');
  manifest = await captureZ4j({ archive, secrets: readSecretsFile(fixtureSecretEnv(dir, 'secret.env')) });
});

function drill(secretsText: string | undefined, edit?: (m: Manifest) => void, file = archive): Promise<DrillReport> {
  const m = structuredClone(manifest);
  edit?.(m);
  const secrets = secretsText === undefined ? undefined : readSecretsFile(fixtureSecretEnv(dir, `s-${createHash('sha256').update(secretsText).digest('hex').slice(0, 8)}.env`, secretsText));
  const plan: DrillPlan = { archive: file, manifestPath: `${file}.manifest.json`, manifestSha256: '0'.repeat(64), manifest: m, profile: z4jProfile, secrets, policy: { acceptEmpty: true, acceptDrop: false } };
  return runDrill(plan, { runtime: dockerRuntime(noEngine) });
}

const ORIGINAL = `Z4J_SECRET=install-secret-0123456789\nZ4J_AUDIT_CHAIN_SECRET=${FIXTURE_CHAIN_SECRET}\nZ4J_SESSION_SECRET=session-secret-0123456789\n`;
const check = (r: DrillReport, id: string) => r.checks.find((c) => c.id === id);
const started = (r: DrillReport) => r.stages.some((s) => ['provision', 'restore', 'probe'].includes(s.name)) || r.image !== undefined;

describe('the secrets file, judged before anything starts', () => {
  it.each([
    ['CRLF, comments, blank lines and spaces around "="', `# z4j\r\n\r\nZ4J_SECRET = install-secret-0123456789\r\n  Z4J_AUDIT_CHAIN_SECRET=  ${FIXTURE_CHAIN_SECRET}\r\n# end\r\nZ4J_SESSION_SECRET=session-secret-0123456789\r\n`],
    ['the same lines in another order', `Z4J_SESSION_SECRET=session-secret-0123456789\nZ4J_AUDIT_CHAIN_SECRET=${FIXTURE_CHAIN_SECRET}\nZ4J_SECRET=install-secret-0123456789`],
  ])('a reformatted secret.env z4j reads identically passes (%s)', async (_what, text) => {
    const r = await drill(text);
    expect(check(r, 'compare.secrets-file')).toMatchObject({ stage: 'integrity', status: 'pass', reason: expect.stringMatching(/holds the names and values recorded at capture \(its bytes differ/) });
    // The drill went on to inspect (and no further: this engine starts nothing).
    expect(r.stages.find((s) => s.name === 'integrity')?.status).toBe('passed');
    expect(r.stages.map((s) => s.name)).toContain('inspect');
  });

  it("another install's values fail at integrity, naming the file, never a value, and nothing is started", async () => {
    const r = await drill(ORIGINAL.replace('install-secret-0123456789', 'other-install-secret-987'));
    expect(r.verdict).toBe('failed');
    expect(r.stages.map((s) => s.name)).toEqual(['fetch', 'integrity']);
    expect(started(r)).toBe(false);
    const c = check(r, 'compare.secrets-file')!;
    expect(c.reason).toMatch(/^secrets file .*s-\w+\.env is not the one recorded at capture \(.*secret\.env\): it has the same names \(Z4J_AUDIT_CHAIN_SECRET, Z4J_SECRET, Z4J_SESSION_SECRET\) with other values/);
    expect(JSON.stringify(r)).not.toMatch(/other-install-secret-987|install-secret-0123456789/);
    expect(r.summary).toMatch(/^integrity: secrets file/);
  });

  it('a secret.env that lacks a key the recorded one had fails, naming the key, nothing started', async () => {
    const r = await drill(`Z4J_AUDIT_CHAIN_SECRET=${FIXTURE_CHAIN_SECRET}\n`);
    expect(r.verdict).toBe('failed');
    expect(started(r)).toBe(false);
    expect(check(r, 'compare.secrets-file')?.reason).toMatch(/it lacks Z4J_SECRET, Z4J_SESSION_SECRET/);
  });

  it('a secret.env z4j would refuse fails with z4j\'s reason, nothing started', async () => {
    const r = await drill(`export ${ORIGINAL}`);
    expect(r.verdict).toBe('failed');
    expect(started(r)).toBe(false);
    expect(check(r, 'compare.secrets-file')?.reason).toMatch(/cannot be used: z4j refuses it: secret\.env line 1 contains unsupported key "export Z4J_SECRET"/);
  });

  it('an old manifest (bytes only) passes the very same file and fails a reformatted one, saying to capture again', async () => {
    const old = (m: Manifest) => void delete m.secrets!.readSha256;
    expect(check(await drill(ORIGINAL, old), 'compare.secrets-file')).toMatchObject({ status: 'pass', reason: expect.stringMatching(/same sha256/) });
    const r = await drill(ORIGINAL.replace(/\n/g, '\r\n'), old);
    expect(r.verdict).toBe('failed');
    expect(started(r)).toBe(false);
    expect(check(r, 'compare.secrets-file')?.reason).toMatch(/This manifest records only the file's bytes .* capture the manifest again \(restore-drill manifest capture --profile z4j --archive plan\.db --secrets FILE --force\)/);
  });
});

describe("the archive's own facts, judged before anything starts", () => {
  it('a manifest naming another version than the archive records fails at inspect, nothing started', async () => {
    const r = await drill(ORIGINAL, (m) => void (m.app.version = '1.12.1'));
    expect(r.verdict).toBe('failed');
    expect(r.stages.map((s) => s.name)).toEqual(['fetch', 'integrity', 'inspect']);
    expect(started(r)).toBe(false);
    expect(check(r, 'compare.app-version')).toMatchObject({ stage: 'inspect', status: 'fail', reason: expect.stringMatching(/the archive records z4j 1\.13\.0 but the manifest says 1\.12\.1/) });
  });

  it('a manifest naming another schema revision than the archive is at fails at inspect, nothing started', async () => {
    const r = await drill(ORIGINAL, (m) => void (m.app.schemaRevision = 'v1_11_other'));
    expect(r.verdict).toBe('failed');
    expect(started(r)).toBe(false);
    expect(check(r, 'compare.archive-revision')?.reason).toMatch(/at schema revision v1_12_auditor_role but the manifest records v1_11_other/);
  });

  it('an archive that is not SQLite stops at inspect, nothing started', async () => {
    const notDb = join(dir, 'not-a-db.db');
    writeFileSync(notDb, 'this is not a database\n'.repeat(100));
    const bytes = Buffer.from('this is not a database\n'.repeat(100));
    const r = await drill(ORIGINAL, (m) => void (m.archive = { ...m.archive, sha256: createHash('sha256').update(bytes).digest('hex'), sizeBytes: bytes.length }), notDb);
    expect(r.verdict).toBe('failed');
    expect(r.stages.map((s) => s.name)).toEqual(['fetch', 'integrity', 'inspect']);
    expect(started(r)).toBe(false);
    expect(check(r, 'inspect.sqlite-header')?.status).toBe('fail');
  });

  it("a sound SQLite database that is not z4j's stops at inspect, naming the tables it lacks, nothing started", async () => {
    const other = join(dir, 'other-app.db');
    const db = new Database(other);
    db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES (1);');
    db.close();
    const bytes = readFileSync(other);
    const r = await drill(ORIGINAL, (m) => void (m.archive = { ...m.archive, sha256: createHash('sha256').update(bytes).digest('hex'), sizeBytes: bytes.length }), other);
    expect(r.verdict).toBe('failed');
    expect(r.stages.map((s) => s.name)).toEqual(['fetch', 'integrity', 'inspect']);
    expect(started(r)).toBe(false);
    expect(check(r, 'inspect.z4j-tables')?.reason).toMatch(/^the archive is a SQLite database but not z4j's: it has no users, projects, agents, tasks, sessions, audit_log, alembic_version, audit_chain_state tables/);
  });

  it('a matching archive and secrets file go on to provision (where this engine refuses: the stop is the finding, not the test)', async () => {
    const r = await drill(ORIGINAL);
    expect(r.stages.map((s) => s.name)).toEqual(['fetch', 'integrity', 'inspect', 'provision']);
    expect(r.verdict).toBe('error');
    expect(r.checks.filter((c) => c.status === 'fail')).toEqual([]);
  });
});
