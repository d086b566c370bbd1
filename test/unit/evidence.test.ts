import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keygenCommand, verifyCommand } from '../../harness/commands/evidence.ts';
import { MAX_SIGNATURES, REPORT_PAYLOAD_TYPE, envelopeText, signEnvelope } from '../../harness/evidence/dsse.ts';
import { loadPrivateKey, loadPublicKey } from '../../harness/evidence/keys.ts';
import { UsageError } from '../../harness/errors.ts';
import { sampleRun } from '../helpers/sample-report.ts';

describe('signed evidence', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-evidence-'));
  const print = (lines: string[]) => (l: string) => void lines.push(l);

  async function signed(): Promise<{ path: string; pub: string }> {
    await keygenCommand({ out: join(dir, 'k'), force: true, print: () => {} });
    const env = signEnvelope(Buffer.from(JSON.stringify(sampleRun(), null, 2)), REPORT_PAYLOAD_TYPE, loadPrivateKey(join(dir, 'k.key')));
    const path = join(dir, 'r.dsse.json');
    writeFileSync(path, envelopeText(env));
    return { path, pub: join(dir, 'k.pub') };
  }

  it('verifies an untouched report and says what it vouches for', async () => {
    const { path, pub } = await signed();
    const lines: string[] = [];
    expect(await verifyCommand({ report: path, pubkey: pub, print: print(lines) })).toBe(0);
    expect(lines[0]).toMatch(/^VERIFIED .* signed by key id [0-9a-f]{64}$/);
    expect(lines.join('\n')).toContain(`sha256 ${'a'.repeat(64)} image sha256:${'b'.repeat(64)}`);
  });

  it('fails, with a reason, when any byte of the file changes', async () => {
    const { path, pub } = await signed();
    const original = readFileSync(path);
    const reasons = new Set<string>();
    // Every 7th byte, so every part of the file is hit: structure, payload, signature, key id.
    for (let i = 0; i < original.length; i += 7) {
      const copy = Buffer.from(original);
      copy[i] = copy[i] === 0x41 ? 0x42 : 0x41;
      const changed = join(dir, 'changed.json');
      writeFileSync(changed, copy);
      const lines: string[] = [];
      expect(await verifyCommand({ report: changed, pubkey: pub, print: print(lines) })).toBe(1);
      expect(lines[0]).toMatch(/^NOT VERIFIED /);
      reasons.add(lines[0]!.replace(/^NOT VERIFIED \S+: /, '').replace(/\(.*$/, ''));
    }
    expect([...reasons].some((r) => r.startsWith('the signature does not match the payload'))).toBe(true);
  });

  it('fails when the signature is spelled another way that decodes to the same bytes (unused base64 bits)', async () => {
    const { path, pub } = await signed();
    const env = JSON.parse(readFileSync(path, 'utf8')) as { signatures: Array<{ sig: string }> };
    const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const sig = env.signatures[0]!.sig;
    const at = sig.indexOf('=') - 1; // the last data character: its low 4 bits are unused for 64 bytes
    const respelled = sig.slice(0, at) + abc[abc.indexOf(sig[at]!) ^ 1] + sig.slice(at + 1);
    expect(Buffer.from(respelled, 'base64')).toEqual(Buffer.from(sig, 'base64'));
    env.signatures[0]!.sig = respelled;
    writeFileSync(path, envelopeText(env));
    const lines: string[] = [];
    expect(await verifyCommand({ report: path, pubkey: pub, print: print(lines) })).toBe(1);
  });

  it('fails for a report signed by another key', async () => {
    const { path } = await signed();
    await keygenCommand({ out: join(dir, 'other'), force: true, print: () => {} });
    const lines: string[] = [];
    expect(await verifyCommand({ report: path, pubkey: join(dir, 'other.pub'), print: print(lines) })).toBe(1);
    expect(lines[0]).toMatch(/no signature by this public key/);
  });

  it('keeps the private key private (mode 0600) and refuses to overwrite keys', async () => {
    await keygenCommand({ out: join(dir, 'm'), print: () => {} });
    const { statSync } = await import('node:fs');
    expect(statSync(join(dir, 'm.key')).mode & 0o777).toBe(0o600);
    await expect(keygenCommand({ out: join(dir, 'm'), print: () => {} })).rejects.toThrow(/exists; use --force/);
  });

  /** A signed report's envelope as an object, to change and write back in the one canonical form. */
  async function envelope(): Promise<{ env: Record<string, unknown> & { signatures: Array<Record<string, unknown>> }; path: string; pub: string }> {
    const { path, pub } = await signed();
    return { env: JSON.parse(readFileSync(path, 'utf8')) as never, path, pub };
  }
  async function verdict(path: string, pub: string): Promise<{ code: number; line: string }> {
    const lines: string[] = [];
    const code = await verifyCommand({ report: path, pubkey: pub, print: print(lines) });
    return { code, line: lines[0] ?? '' };
  }

  it('refuses JSON nested 10,000 levels deep with a reason, not a RangeError', async () => {
    const { pub } = await signed();
    const deep = join(dir, 'deep.json');
    writeFileSync(deep, `${'['.repeat(10_000)}${']'.repeat(10_000)}\n`);
    expect(await verdict(deep, pub)).toEqual({ code: 1, line: `NOT VERIFIED ${deep}: the file is not JSON (it nests more than 64 levels deep)` });
    // The same inside a correctly signed payload: a signature does not make a hostile payload safe to walk.
    const key = loadPrivateKey(join(dir, 'k.key'));
    for (const [payload, reason] of [
      [`${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`, /it nests more than 64 levels deep/],
      ['not JSON at all', /is not valid JSON|Unexpected token/],
    ] as const) {
      writeFileSync(deep, envelopeText(signEnvelope(Buffer.from(payload), REPORT_PAYLOAD_TYPE, key)));
      const v = await verdict(deep, pub);
      expect(v.code).toBe(1);
      expect(v.line).toMatch(/the signed payload is not a restore-drill report/);
      expect(v.line).toMatch(reason);
    }
  });

  it('refuses fields no signature covers, of any size, beside the envelope or a signature', async () => {
    const { env, path, pub } = await envelope();
    writeFileSync(path, envelopeText({ ...env, verdict: 'passed', note: 'x'.repeat(1 << 20) }));
    const top = await verdict(path, pub);
    expect(top.code).toBe(1);
    expect(top.line).toMatch(/the envelope holds fields no signature covers \("verdict", "note"\)/);
    expect(top.line.length).toBeLessThan(400);
    writeFileSync(path, envelopeText({ ...env, signatures: [{ ...env.signatures[0], comment: 'approved by the auditor' }] }));
    expect(await verdict(path, pub)).toMatchObject({ code: 1, line: expect.stringMatching(/a signature holds fields no signature covers \("comment"\)/) });
    writeFileSync(path, envelopeText({ ...env, signatures: Array.from({ length: MAX_SIGNATURES + 1 }, () => env.signatures[0]) }));
    expect(await verdict(path, pub)).toMatchObject({ code: 1, line: expect.stringMatching(new RegExp(`holds ${MAX_SIGNATURES + 1} signatures, more than the ${MAX_SIGNATURES} accepted`)) });
    // Untouched, it still holds.
    writeFileSync(path, envelopeText(env));
    expect((await verdict(path, pub)).code).toBe(0);
  });

  it('refuses a private key given as the public one, naming the mistake and never the key', async () => {
    const { path } = await signed();
    const privatePem = readFileSync(join(dir, 'k.key'), 'utf8');
    const err = await verifyCommand({ report: path, pubkey: join(dir, 'k.key'), print: () => {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).code).toBe('RD_KEY_PRIVATE');
    expect((err as Error).message).toBe(
      `--pubkey ${join(dir, 'k.key')} is a private key, not a public one: give the public key (PREFIX.pub from "evidence keygen"); the private key should stay with whoever signs`,
    );
    const body = privatePem.split('\n')[1]!;
    expect((err as Error).message).not.toContain(body);
    // Other spellings of a private key: PKCS#1 RSA, encrypted PKCS#8, OpenSSH.
    const { generateKeyPairSync } = await import('node:crypto');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    for (const pem of [
      rsa.export({ type: 'pkcs1', format: 'pem' }) as string,
      generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' }) as string,
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n',
    ]) {
      writeFileSync(join(dir, 'other.key'), pem);
      expect(() => loadPublicKey(join(dir, 'other.key'), '--manifest-pubkey')).toThrow(/^--manifest-pubkey .*other\.key is a private key, not a public one/);
    }
    // And the other way round: a public key where the signing key goes.
    expect(() => loadPrivateKey(join(dir, 'k.pub'))).toThrow(/^--sign .*k\.pub is a public key: --sign takes the private key/);
  });
});
