import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { keygenCommand } from '../../harness/commands/evidence.ts';
import { signEnvelope } from '../../harness/evidence/dsse.ts';
import { INTOTO_PAYLOAD_TYPE, bundleLine, signAttestations } from '../../harness/attestation/statement.ts';
import { keyId, loadPrivateKey, loadPublicKey } from '../../harness/evidence/keys.ts';
import { sampleRun } from '../helpers/sample-report.ts';
import { thirdPartyPython } from '../helpers/third-party-python.ts';

/**
 * restore-drill's attestations checked by verifiers no one here wrote:
 * securesystemslib's DSSE envelope and Ed25519 key, and the in-toto attestation
 * bindings' Statement and test-result predicate (scripts/verify-intoto.py, the
 * script the README gives auditors). Where Python cannot install them the tests
 * are skipped, and the reason is printed and named in each test's title.
 */
const env = await thirdPartyPython();
const skip = 'skip' in env ? env.skip : undefined;
if (skip) process.stderr.write(`intoto-third-party: SKIPPED, ${skip}\n`);
const note = skip ? ` (skipped: ${skip})` : '';
const SCRIPT = resolve('scripts/verify-intoto.py');
const run = promisify(execFile);

async function pyVerify(bundle: string, pub: string): Promise<{ code: number; out: string }> {
  if (!('python' in env)) throw new Error('unreachable');
  try {
    const { stdout } = await run(env.python, [SCRIPT, bundle, pub], { timeout: 60_000 });
    return { code: 0, out: stdout };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

describe.skipIf(skip !== undefined)('in-toto attestations, checked by securesystemslib and in-toto-attestation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-intoto-py-'));

  async function bundle(): Promise<{ path: string; pub: string; text: string }> {
    await keygenCommand({ out: join(dir, 'k'), force: true, print: () => {} });
    const { text } = signAttestations(sampleRun(), loadPrivateKey(join(dir, 'k.key')));
    const path = join(dir, 'r.intoto.jsonl');
    writeFileSync(path, text);
    return { path, pub: join(dir, 'k.pub'), text };
  }
  const lines = (text: string) => text.trimEnd().split('\n').map((l) => JSON.parse(l) as { payloadType: string; payload: string; signatures: Array<{ keyid: string; sig: string }> });
  const write = (name: string, envs: unknown[]) => {
    const p = join(dir, name);
    writeFileSync(p, envs.map(bundleLine).join(''));
    return p;
  };

  it(`verifies an untouched bundle: every signature, statement and test result${note}`, async () => {
    const { path, pub } = await bundle();
    const v = await pyVerify(path, pub);
    expect(v.out).toMatch(/^VERIFIED .*: 4 statements signed by [0-9a-f]{64}$/m);
    expect(v.code).toBe(0);
    // The sample run: one drill passed, one failed; each test result says so of its archive.
    expect(v.out).toContain(`PASSED good.db sha256:${'a'.repeat(64)} (2 passed, 0 failed)`);
    expect(v.out).toContain(`FAILED bad <&> "x".db sha256:${'d'.repeat(64)} (1 passed, 1 failed)`);
  });

  it(`refuses a payload changed after signing${note}`, async () => {
    const { text, pub } = await bundle();
    const envs = lines(text);
    const statement = Buffer.from(envs[0]!.payload, 'base64').toString('utf8');
    expect(statement).toContain('"result":"PASSED"');
    // The second drill's FAILED turned into PASSED: valid JSON, valid statement, wrong signature.
    const second = Buffer.from(envs[2]!.payload, 'base64').toString('utf8').replace('"result":"FAILED"', '"result":"PASSED"');
    envs[2]!.payload = Buffer.from(second).toString('base64');
    const v = await pyVerify(write('tampered.intoto.jsonl', envs), pub);
    expect(v.code).toBe(1);
    expect(v.out).toMatch(/NOT VERIFIED .*VerificationError/);
  });

  it(`refuses another key, and another key's signature relabelled with ours${note}`, async () => {
    const { path, text, pub } = await bundle();
    await keygenCommand({ out: join(dir, 'other'), force: true, print: () => {} });
    const wrongKey = await pyVerify(path, join(dir, 'other.pub'));
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.out).toMatch(/NOT VERIFIED .*VerificationError/);
    // Signed by the other key, but claiming our key id: the Ed25519 check itself must refuse it.
    const ours = keyId(loadPublicKey(pub));
    const forged = lines(signAttestations(sampleRun(), loadPrivateKey(join(dir, 'other.key'))).text).map((e) => ({ ...e, signatures: e.signatures.map((s) => ({ ...s, keyid: ours })) }));
    expect(lines(text)[0]!.signatures[0]!.keyid).toBe(ours);
    const relabelled = await pyVerify(write('relabelled.intoto.jsonl', forged), pub);
    expect(relabelled.code).toBe(1);
    expect(relabelled.out).toMatch(/NOT VERIFIED .*VerificationError/);
  });

  it(`refuses a correctly signed statement the in-toto bindings reject${note}`, async () => {
    const { pub } = await bundle();
    const key = loadPrivateKey(join(dir, 'k.key'));
    const good = JSON.parse(Buffer.from(lines(signAttestations(sampleRun(), key).text)[0]!.payload, 'base64').toString('utf8')) as Record<string, unknown>;
    const sign = (statement: unknown) => signEnvelope(Buffer.from(JSON.stringify(statement)), INTOTO_PAYLOAD_TYPE, key);
    // A subject without a digest (Statement v1 requires one), and a test result with a field the predicate does not have.
    const noDigest = await pyVerify(write('nodigest.intoto.jsonl', [sign({ ...good, subject: [{ name: 'good.db' }] })]), pub);
    expect(noDigest.code).toBe(1);
    expect(noDigest.out).toMatch(/NOT VERIFIED .*At least one digest required/);
    const extra = await pyVerify(write('extra.intoto.jsonl', [sign({ ...good, predicate: { ...(good.predicate as object), verdict: 'passed' } })]), pub);
    expect(extra.code).toBe(1);
    expect(extra.out).toMatch(/NOT VERIFIED .*verdict/);
    // The same statement untouched and signed the same way passes: only the change was refused.
    expect((await pyVerify(write('one.intoto.jsonl', [sign(good)]), pub)).code).toBe(0);
  });

  it(`the README's verification command is the script this test runs${note}`, () => {
    const readme = readFileSync(resolve('README.md'), 'utf8');
    expect(readme).toContain('python3 scripts/verify-intoto.py out/report.intoto.jsonl evidence.pub');
  });
});
