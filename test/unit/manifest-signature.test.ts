import { generateKeyPairSync } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { manifestSignaturePath, manifestSignatureProblem, signManifestText } from '../../harness/manifest/signature.ts';
import { planDrills } from '../../harness/drill/plan.ts';
import { UsageError } from '../../harness/errors.ts';

const fixture = new URL('./fixtures/manifests/z4j-sqlite-1.13.0.manifest.json', import.meta.url).pathname;

describe('signed manifests', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-msig-'));
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const other = generateKeyPairSync('ed25519');
  const archive = join(dir, 'backup.db');
  const manifest = `${archive}.manifest.json`;
  writeFileSync(archive, 'not read at plan time');
  copyFileSync(fixture, manifest);
  const bytes = readFileSync(manifest);
  writeFileSync(manifestSignaturePath(manifest), signManifestText(bytes, privateKey));
  writeFileSync(join(dir, 'pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));

  it('holds for the exact bytes it signed, with the right key', async () => {
    expect(await manifestSignatureProblem(manifest, bytes, publicKey)).toBeUndefined();
  });

  it('names an edit made after signing, another key, and a missing signature', async () => {
    const edited = Buffer.from(bytes.toString().replace('"users": ', '"users":  '));
    expect(await manifestSignatureProblem(manifest, edited, publicKey)).toMatch(/was edited after it was signed/);
    expect(await manifestSignatureProblem(manifest, bytes, other.publicKey)).toMatch(/no signature by this public key/);
    expect(await manifestSignatureProblem(join(dir, 'nope.json'), bytes, publicKey)).toMatch(/is not signed/);
  });

  it('planning with --manifest-pubkey refuses a manifest edited after it was signed, and names its digest otherwise', async () => {
    const [plan] = await planDrills({ profile: 'z4j', archives: [archive], manifestPubkey: join(dir, 'pub.pem') });
    expect(plan!.manifestSha256).toMatch(/^[0-9a-f]{64}$/);
    writeFileSync(manifest, bytes.toString().replace(/"users": (\d+)/, (_m, n: string) => `"users": ${Number(n) + 1}`));
    const err = await planDrills({ profile: 'z4j', archives: [archive], manifestPubkey: join(dir, 'pub.pem') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/edited after it was signed/);
  });

  it('names a signature that is hostile instead of reading it: nested 10,000 deep, unsigned fields, a FIFO, a folder', async () => {
    const sigPath = manifestSignaturePath(manifest);
    const good = readFileSync(sigPath, 'utf8');
    try {
      writeFileSync(sigPath, `${'['.repeat(10_000)}${']'.repeat(10_000)}`);
      expect(await manifestSignatureProblem(manifest, bytes, publicKey)).toMatch(/is not a signed envelope \(not JSON: it nests more than 64 levels deep\)/);
      writeFileSync(sigPath, JSON.stringify({ ...JSON.parse(good), approvedBy: 'the auditor' }));
      expect(await manifestSignatureProblem(manifest, bytes, publicKey)).toMatch(/the envelope holds fields no signature covers \("approvedBy"\)/);
      rmSync(sigPath);
      execFileSync('mkfifo', [sigPath]);
      expect(await manifestSignatureProblem(manifest, bytes, publicKey)).toMatch(/manifest signature .*\.dsse\.json is not a regular file \(a FIFO\)/);
    } finally {
      rmSync(sigPath, { recursive: true, force: true });
      writeFileSync(sigPath, good);
    }
    expect(await manifestSignatureProblem(manifest, bytes, publicKey)).toBeUndefined();
  });

  it('refuses the private key given as --manifest-pubkey, naming the mistake', async () => {
    writeFileSync(join(dir, 'k.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const err = await planDrills({ profile: 'z4j', archives: [archive], manifestPubkey: join(dir, 'k.key') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/^--manifest-pubkey .*k\.key is a private key, not a public one: give the public key/);
  });
});
