import { describe, expect, it } from 'vitest';
import { parseEnvFile, redact } from '../../harness/model/secrets.ts';
import { readSecretsFile } from '../../harness/files/secrets-file.ts';

describe('secrets', () => {
  it('reads KEY=VALUE files with comments, quotes and export', () => {
    const m = parseEnvFile('# c\nA=1\nexport B="two words"\n  C = \'x\' \n\nbad line\n');
    expect([...m]).toEqual([['A', '1'], ['B', 'two words'], ['C', 'x']]);
  });

  it('scrubs secret values from text and nested values', () => {
    expect(redact('key is s3cr3t-value!', ['s3cr3t-value'])).toBe('key is [redacted]!');
    expect(redact({ a: ['x s3cr3t-value y'] }, ['s3cr3t-value'])).toEqual({ a: ['x [redacted] y'] });
  });
});

describe('reading a secrets file', () => {
  it('warns when other users can read it, and not when it is 0600', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'rd-sec-'));
    writeFileSync(join(dir, 'open.env'), 'Z4J_SECRET=x\n', { mode: 0o644 });
    writeFileSync(join(dir, 'closed.env'), 'Z4J_SECRET=x\n', { mode: 0o600 });
    expect(readSecretsFile(join(dir, 'open.env')).warnings).toEqual([expect.stringMatching(/can be read by every user on this host \(mode o\+r\); chmod 600 it$/)]);
    expect(readSecretsFile(join(dir, 'closed.env')).warnings).toEqual([]);
  });
});

describe('the secrets file against the one recorded at capture (compareSecrets)', async () => {
  const { compareSecrets } = await import('../../harness/verdict/compare.ts');
  const { parseManifest } = await import('../../harness/manifest/load.ts');
  const { readFileSync } = await import('node:fs');
  const base = parseManifest(JSON.parse(readFileSync(new URL('./fixtures/manifests/z4j-sqlite-1.13.0.manifest.json', import.meta.url), 'utf8')));
  const raw = base.secrets!.fileSha256!;
  const read = 'b'.repeat(64);
  const withRead = { ...base, secrets: { ...base.secrets!, readSha256: read } };
  const names = [...base.secrets!.names];
  const one = (m: typeof base, obs: Parameters<typeof compareSecrets>[1]) => {
    const f = compareSecrets(m, { secretsSource: '/x/secret.env', ...obs });
    expect(f).toHaveLength(1);
    return f[0]!;
  };

  it('with a read digest: the same reading passes whatever the bytes; another reading fails, naming what differs', () => {
    expect(one(withRead, { secretsFileSha256: '0'.repeat(64), secretsRead: { ok: true, names, sha256: read } })).toMatchObject({ status: 'pass', reason: expect.stringMatching(/its bytes differ/) });
    expect(one(withRead, { secretsFileSha256: raw, secretsRead: { ok: true, names, sha256: read } }).reason).toMatch(/same bytes/);
    expect(one(withRead, { secretsFileSha256: raw, secretsRead: { ok: true, names, sha256: 'c'.repeat(64) } })).toMatchObject({ status: 'fail', reason: expect.stringMatching(/same names .* with other values/) });
    expect(one(withRead, { secretsFileSha256: raw, secretsRead: { ok: true, names: [...names, 'Z4J_AUDIT_CHAIN_PREVIOUS_SECRETS'], sha256: 'c'.repeat(64) } }).reason).toMatch(/it has Z4J_AUDIT_CHAIN_PREVIOUS_SECRETS, which the recorded file had not/);
  });

  it('a file the application refuses fails, even when its bytes are the recorded ones', () => {
    expect(one(withRead, { secretsFileSha256: raw, secretsRead: { ok: false, problem: 'z4j refuses it: x' } })).toMatchObject({ status: 'fail', reason: expect.stringMatching(/^secrets file \/x\/secret\.env cannot be used: z4j refuses it: x$/) });
    expect(one(base, { secretsFileSha256: raw, secretsRead: { ok: false, problem: 'z4j refuses it: x' } }).status).toBe('fail');
  });

  it('a read digest with no reader to judge it: the same bytes pass, other bytes are an error, never a pass', () => {
    expect(one(withRead, { secretsFileSha256: raw }).status).toBe('pass');
    expect(one(withRead, { secretsFileSha256: '0'.repeat(64) }).status).toBe('error');
  });

  it('an old manifest (bytes only): the same bytes pass, other bytes fail with how to capture again', () => {
    expect(one(base, { secretsFileSha256: raw, secretsRead: { ok: true, names, sha256: read } }).status).toBe('pass');
    expect(one(base, { secretsFileSha256: '0'.repeat(64), secretsRead: { ok: true, names, sha256: read } })).toMatchObject({ status: 'fail', reason: expect.stringMatching(/capture the manifest again \(restore-drill manifest capture --profile z4j --archive z4j-demo-backup\.db --secrets FILE --force\)$/) });
  });

  it('no file at all fails', () => {
    expect(compareSecrets(withRead, {})[0]).toMatchObject({ status: 'fail', reason: expect.stringMatching(/^secret material missing: no secrets file was supplied/) });
  });
});
