import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keygenCommand, verifyCommand } from '../../harness/commands/evidence.ts';
import { REPORT_PAYLOAD_TYPE, envelopeText, signEnvelope } from '../../harness/evidence/dsse.ts';
import { loadPrivateKey } from '../../harness/evidence/keys.ts';
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
});
