import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fetchArchive } from '../../harness/sources/fetch.ts';
import { S3Source } from '../../harness/sources/s3.ts';
import { ArchiveMismatchError, SourceError } from '../../harness/sources/source-error.ts';
import { startCutProxy } from '../helpers/cut-proxy.ts';
import { type Seaweed, startSeaweed } from '../helpers/seaweed.ts';

let weed: Seaweed;
const work = mkdtempSync(join(tmpdir(), 'rd-s3-test-'));
const archive = randomBytes(3 * 1024 * 1024 + 17);
const sha = createHash('sha256').update(archive).digest('hex');
const savedEnv = { ...process.env };

/** The SDK's own chain reads these: the test gives it what a user's environment would. */
function useStore(endpoint: string, secret = weed.secretKey): void {
  process.env.AWS_ENDPOINT_URL_S3 = endpoint;
  process.env.AWS_ACCESS_KEY_ID = weed.accessKey;
  process.env.AWS_SECRET_ACCESS_KEY = secret;
  // No region anywhere: the source must still work against a custom endpoint.
  delete process.env.AWS_REGION;
  delete process.env.AWS_DEFAULT_REGION;
  delete process.env.AWS_PROFILE;
  process.env.AWS_CONFIG_FILE = join(work, 'no-aws-config');
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(work, 'no-aws-credentials');
  process.env.AWS_MAX_ATTEMPTS = '2';
}

beforeAll(async () => {
  weed = await startSeaweed();
  const put = (Key: string, Body: Buffer | string) => weed.client.send(new PutObjectCommand({ Bucket: 'backups', Key, Body }));
  await weed.client.send(new (await import('@aws-sdk/client-s3')).CreateBucketCommand({ Bucket: 'backups' }));
  await put('z4j/2026-11-22.db', archive);
  await put('z4j/2026-11-22.db.manifest.json', '{"m":1}');
  await put('z4j/2026-11-22.db.manifest.dsse.json', '{}');
  await put('z4j/.hidden', 'x');
  await put('z4j/2026-11-23.db', 'second');
  await put('z4j/deeper/2026-01-01.db', 'not directly below');
  // More than one listing page (S3 returns at most 1,000 keys a page).
  const keys = Array.from({ length: 1203 }, (_, i) => `many/a-${String(i).padStart(4, '0')}.tar.gz`);
  for (let i = 0; i < keys.length; i += 40) await Promise.all(keys.slice(i, i + 40).map((k) => put(k, k)));
}, 300_000);

afterAll(async () => {
  process.env = savedEnv;
  await weed?.stop();
  rmSync(work, { recursive: true, force: true });
});

beforeEach(() => useStore(weed.endpoint));

describe('s3:// against a real SeaweedFS', () => {
  it('lists one object with its size and ETag, and a prefix as a folder: archives directly below it, no manifest, signature or hidden file', async () => {
    const s = new S3Source();
    const one = await s.list('s3://backups/z4j/2026-11-22.db');
    expect(one).toHaveLength(1);
    expect(one[0]).toMatchObject({ location: 's3://backups/z4j/2026-11-22.db', name: '2026-11-22.db', sizeBytes: archive.length });
    expect(one[0]!.version).toMatch(/^[0-9a-f-]{8,}/);
    const folder = await s.list('s3://backups/z4j/');
    expect(folder.map((o) => o.name)).toEqual(['2026-11-22.db', '2026-11-23.db']);
  });

  it('reads every page of a listing of more than 1,000 objects', async () => {
    const all = await new S3Source().list('s3://backups/many/');
    expect(all).toHaveLength(1203);
    expect(new Set(all.map((o) => o.name)).size).toBe(1203);
    expect(all.at(-1)!.name).toBe('a-1202.tar.gz');
  });

  it('fetches an object once into a file with its sha256, size and ETag', async () => {
    const target = join(work, 'fetched.db');
    const got = await fetchArchive(new S3Source(), 's3://backups/z4j/2026-11-22.db', target, { expected: { sha256: sha, sizeBytes: archive.length } });
    expect(got.sha256).toBe(sha);
    expect(got.sizeBytes).toBe(archive.length);
    expect(got.object.version).toBeTruthy();
    expect(readFileSync(target).equals(archive)).toBe(true);
    rmSync(target);
  });

  it('stops before reading when the announced size differs from the manifest, and leaves no file', async () => {
    const target = join(work, 'short.db');
    const e = await fetchArchive(new S3Source(), 's3://backups/z4j/2026-11-22.db', target, { expected: { sha256: sha, sizeBytes: 1000 } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ArchiveMismatchError);
    expect((e as ArchiveMismatchError).field).toBe('sizeBytes');
    expect((e as ArchiveMismatchError).observed).toBe(archive.length);
    expect(existsSync(target)).toBe(false);
  });

  it('removes the file when the sha256 differs', async () => {
    const target = join(work, 'other.db');
    const e = await fetchArchive(new S3Source(), 's3://backups/z4j/2026-11-22.db', target, { expected: { sha256: '0'.repeat(64), sizeBytes: archive.length } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ArchiveMismatchError);
    expect((e as ArchiveMismatchError).field).toBe('sha256');
    expect((e as ArchiveMismatchError).observed).toBe(sha);
    expect(existsSync(target)).toBe(false);
  });

  it('reads the manifest beside the archive, and says undefined when there is none', async () => {
    const s = new S3Source();
    expect((await s.readSmall('s3://backups/z4j/2026-11-22.db.manifest.json', 1 << 20))?.toString()).toBe('{"m":1}');
    expect(await s.readSmall('s3://backups/z4j/2026-11-23.db.manifest.json', 1 << 20)).toBeUndefined();
    await expect(s.readSmall('s3://backups/z4j/2026-11-22.db', 1024)).rejects.toThrow(/s3:\/\/backups\/z4j\/2026-11-22\.db: \d+ bytes, more than the 1024 allowed/);
  });

  it('a missing object, a missing bucket: one line naming the location and the 404', async () => {
    const s = new S3Source();
    const target = join(work, 'missing.db');
    const e = await fetchArchive(s, 's3://backups/z4j/nope.db', target).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SourceError);
    expect((e as Error).message).toBe('s3://backups/z4j/nope.db: no such object (404)');
    expect(existsSync(target)).toBe(false);
    await expect(s.list('s3://backups/z4j/nope.db')).rejects.toThrow('s3://backups/z4j/nope.db: no such object (404); a prefix ends with /');
    await expect(s.list('s3://no-such-bucket/x/')).rejects.toThrow('s3://no-such-bucket/x/: no such bucket (404)');
  });

  it('wrong credentials: one line with the 403 and no secret in it', async () => {
    useStore(weed.endpoint, 'wrong-secret-value');
    const e = await fetchArchive(new S3Source(), 's3://backups/z4j/2026-11-22.db', join(work, 'denied.db')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SourceError);
    const msg = (e as Error).message;
    expect(msg).toMatch(/^s3:\/\/backups\/z4j\/2026-11-22\.db: access denied \(403 \w+\): check the credentials/);
    expect(msg).not.toContain('wrong-secret-value');
    expect(msg).not.toContain('\n');
  });

  it('a store that closes the connection mid-stream: the fetch ends naming the cut and the bytes that arrived, and no file is left', async () => {
    const port = Number(new URL(weed.endpoint).port);
    const proxy = await startCutProxy({ host: '127.0.0.1', port }, 1024 * 1024);
    try {
      useStore(proxy.url);
      const target = join(work, 'cut.db');
      const e = await fetchArchive(new S3Source(), 's3://backups/z4j/2026-11-22.db', target).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(SourceError);
      expect((e as Error).message).toMatch(new RegExp(`^s3://backups/z4j/2026-11-22\\.db: connection cut after \\d+ of ${archive.length} bytes \\(the store closed the connection\\)$`));
      expect(existsSync(target)).toBe(false);
    } finally {
      await proxy.close();
    }
  });

  it('a store that does not answer: connection refused, naming the endpoint', async () => {
    const [port] = await (await import('../helpers/seaweed.ts')).freePorts(1);
    useStore(`http://127.0.0.1:${port}`);
    await expect(new S3Source().list('s3://backups/z4j/')).rejects.toThrow(`s3://backups/z4j/: connection refused at http://127.0.0.1:${port}`);
  });

  it('never takes credentials from the location, and never prints them', async () => {
    const s = new S3Source();
    await expect(s.list('s3://AKIA:topsecret@backups/x.db')).rejects.toThrow(/credentials in the location are refused/);
    expect(s.display('s3://AKIA:topsecret@backups/x.db')).not.toContain('topsecret');
  });
});
