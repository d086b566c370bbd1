import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SecretBag } from '../../harness/model/secrets.ts';
import { isRestoreDrillError, UsageError } from '../../harness/errors.ts';
import { main } from '../../harness/cli.ts';
import { captureZ4j } from '../../scenarios/z4j/capture.ts';
import { changeOneMetadataByte, deleteEndRows } from '../helpers/z4j-tamper.ts';
import { fixtureSecretEnv, smallZ4jBackup } from '../helpers/z4j-small-backup.ts';
import { readSecretsFile } from '../../harness/files/secrets-file.ts';

/**
 * Capture refuses a backup every drill would fail, with the drill's own
 * finding, while it can still be taken again; a file SQLite cannot read is one
 * usage error. The archives carry real z4j 1.13.0 signatures (no engine).
 */
const dir = mkdtempSync(join(tmpdir(), 'rd-z4j-capture-'));
const secrets = () => readSecretsFile(fixtureSecretEnv(dir, 'secret.env'));

async function refusal(archive: string, bag: SecretBag | undefined = secrets()): Promise<UsageError> {
  const e = await captureZ4j({ archive, ...(bag ? { secrets: bag } : {}) }).then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(UsageError);
  expect((e as Error).message.split('\n')).toHaveLength(1);
  return e as UsageError;
}

describe('z4j capture', () => {
  it('records a good backup, with the digest of secret.env as z4j reads it beside the bytes digest', async () => {
    const m = await captureZ4j({ archive: smallZ4jBackup(dir, 'good.db'), secrets: secrets() });
    expect(m.expectations.chain?.length).toBe(40);
    expect(m.secrets).toEqual({
      reference: join(dir, 'secret.env'),
      names: ['Z4J_AUDIT_CHAIN_SECRET', 'Z4J_SECRET', 'Z4J_SESSION_SECRET'],
      fileSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      readSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(m.secrets!.readSha256).not.toBe(m.secrets!.fileSha256);
  });

  it('refuses an audit row changed after it was signed, naming the row as the drill would', async () => {
    const archive = smallZ4jBackup(dir, 'tampered.db');
    const row = changeOneMetadataByte(archive);
    const e = await refusal(archive);
    expect(e.code).toBe('RD_ARCHIVE_DAMAGED');
    expect(e.message).toMatch(new RegExp(`cannot pass a drill as it is: archive: audit_log row ${row} \\(position \\d+\\): HMAC does not match the row's content`));
  });

  it('refuses a chain whose newest rows were deleted (it disagrees with its signed state)', async () => {
    const archive = smallZ4jBackup(dir, 'cut.db');
    deleteEndRows(archive, 'newest', 2);
    const e = await refusal(archive);
    expect(e.message).toMatch(/archive audit chain against its signed state: the chain has 38 active rows, its signed state says 40/);
  });

  it("refuses another install's chain secret", async () => {
    const other = readSecretsFile(fixtureSecretEnv(dir, 'other.env', 'Z4J_SECRET=s-0123456789\nZ4J_SESSION_SECRET=t-0123456789\nZ4J_AUDIT_CHAIN_SECRET=another-install-chain-secret-0123456789\n'));
    const e = await refusal(smallZ4jBackup(dir, 'wrong-secret.db'), other);
    expect(e.message).toMatch(/the secret supplied is not the one that signed this audit chain/);
    expect(e.message).not.toContain('another-install-chain-secret');
  });

  it('refuses a secret.env z4j itself would refuse, naming the line, never a value', async () => {
    const bad = readSecretsFile(fixtureSecretEnv(dir, 'export.env', `export Z4J_AUDIT_CHAIN_SECRET=whatever-value-123\n`));
    const e = await refusal(smallZ4jBackup(dir, 'export.db'), bad);
    expect(e.code).toBe('RD_SECRETS_INVALID');
    expect(e.message).toMatch(/export\.env cannot be used: z4j refuses it: secret\.env line 1 contains unsupported key "export Z4J_AUDIT_CHAIN_SECRET"/);
    expect(e.message).not.toContain('whatever-value-123');
  });

  it('refuses a secret.env without a key z4j cannot run without, naming it', async () => {
    const thin = readSecretsFile(fixtureSecretEnv(dir, 'thin.env', `Z4J_AUDIT_CHAIN_SECRET=${'c'.repeat(40)}\nZ4J_SECRET=${'s'.repeat(40)}\n`));
    const e = await refusal(smallZ4jBackup(dir, 'thin.db'), thin);
    expect(e.message).toMatch(/thin\.env cannot be used: it lacks Z4J_SESSION_SECRET, without which z4j's CLI does not run/);
  });

  it('refuses damaged pages as the drill says it (PRAGMA integrity_check)', async () => {
    const archive = smallZ4jBackup(dir, 'pages.db');
    const db = new Database(archive);
    const root = (db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'ix_audit_log_occurred_at'").get() as { rootpage: number }).rootpage;
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    db.close();
    // Scribble over an index's page: the table reads, the index no longer matches it.
    const bytes = readFileSync(archive);
    bytes.fill(0x41, (root - 1) * pageSize + 100, root * pageSize - 100);
    writeFileSync(archive, bytes);
    const e = await refusal(archive);
    expect(e.message).toMatch(/is a damaged SQLite file: |cannot be read as a SQLite database/);
  });
});

describe('manifest capture on damaged SQLite files (the CLI)', () => {
  let stderr: string[];
  beforeEach(() => {
    stderr = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (stderr.push(String(s)), true));
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });
  afterEach(() => vi.restoreAllMocks());

  const good = () => readFileSync(smallZ4jBackup(dir, 'cli-source.db'));
  const cases: Array<[string, (b: Buffer) => Buffer]> = [
    ['cut to its header', (b) => b.subarray(0, 100)],
    ['cut in its second page', (b) => b.subarray(0, 4096 + 17)],
    ['cut to half', (b) => b.subarray(0, Math.floor(b.length / 2))],
    ['a header claiming 1 GiB of pages', (b) => { const c = Buffer.from(b); c.writeUInt32BE(262144, 28); return c; }],
    ['a header with page size 3000 (not a power of two)', (b) => { const c = Buffer.from(b); c.writeUInt16BE(3000, 16); return c; }],
    ['a header with page size 512 (lies about the layout)', (b) => { const c = Buffer.from(b); c.writeUInt16BE(512, 16); return c; }],
    ['the schema page zeroed', (b) => { const c = Buffer.from(b); c.fill(0, 100, 4096); return c; }],
    ['every page after the first zeroed', (b) => { const c = Buffer.from(b); c.fill(0, 4096); return c; }],
  ];

  it.each(cases)('%s: exit 2, one line, no stack trace', async (_name, damage) => {
    const archive = join(dir, `cli-${_name.replace(/\W+/g, '-')}.db`);
    writeFileSync(archive, damage(good()));
    const env = fixtureSecretEnv(dir, 'cli.env');
    const code = await main(['node', 'restore-drill', 'manifest', 'capture', '--profile', 'z4j', '--archive', archive, '--secrets', env, '--force']);
    const text = stderr.join('');
    expect([text, code]).toEqual([text, 2]);
    expect(text).not.toMatch(/unexpected error|SqliteError|^\s+at /m);
    expect(text.trim().split('\n')).toHaveLength(1);
  });

  it('a damaged file is a usage error (isRestoreDrillError), not a crash', async () => {
    const archive = join(dir, 'api-cut.db');
    writeFileSync(archive, good().subarray(0, 5000));
    const e = await captureZ4j({ archive, secrets: secrets() }).catch((x: unknown) => x);
    expect(isRestoreDrillError(e)).toBe(true);
  });
});
