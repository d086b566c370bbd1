import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchArchive } from '../../harness/sources/fetch.ts';
import { RcloneSource } from '../../harness/sources/rclone.ts';
import { SourceError } from '../../harness/sources/source-error.ts';
import { type Seaweed, startSeaweed } from '../helpers/seaweed.ts';
import { ensureDebianTool } from '../helpers/source-tools.ts';

const work = mkdtempSync(join(tmpdir(), 'rd-rclone-test-'));
const data = join(work, 'backups');
const archive = randomBytes(2 * 1024 * 1024 + 3);
const sha = createHash('sha256').update(archive).digest('hex');
let weed: Seaweed;
let env: NodeJS.ProcessEnv;

/** The user's rclone config, as a file (a local remote) and as RCLONE_CONFIG_<REMOTE>_* variables (the S3 remote). */
function rcloneEnv(secret: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: work,
    RCLONE_CONFIG: join(work, 'rclone.conf'),
    RCLONE_CONFIG_WEED_TYPE: 's3',
    RCLONE_CONFIG_WEED_PROVIDER: 'Other',
    RCLONE_CONFIG_WEED_ENDPOINT: weed.endpoint,
    RCLONE_CONFIG_WEED_ACCESS_KEY_ID: weed.accessKey,
    RCLONE_CONFIG_WEED_SECRET_ACCESS_KEY: secret,
    RCLONE_LOW_LEVEL_RETRIES: '2',
    RCLONE_RETRIES: '1',
  };
}

beforeAll(async () => {
  ensureDebianTool('rclone');
  weed = await startSeaweed();
  mkdirSync(data, { recursive: true });
  writeFileSync(join(work, 'rclone.conf'), '[disk]\ntype = local\n');
  for (const [name, body] of [['2026-11-22.db', archive], ['2026-11-22.db.manifest.json', '{"m":1}'], ['2026-11-22.db.manifest.dsse.json', '{}'], ['.hidden', 'x'], ['2026-11-23.tar.gz', 'second']] as const) {
    writeFileSync(join(data, name), body);
  }
  await weed.client.send(new CreateBucketCommand({ Bucket: 'backups' }));
  await weed.client.send(new PutObjectCommand({ Bucket: 'backups', Key: 'z4j/2026-11-22.db', Body: archive }));
  await weed.client.send(new PutObjectCommand({ Bucket: 'backups', Key: 'z4j/2026-11-22.db.manifest.json', Body: '{"m":1}' }));
  env = rcloneEnv(weed.secretKey);
}, 600_000);

afterAll(async () => {
  await weed?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('rclone: through the real rclone CLI and the user config', () => {
  it('lists a folder on a local remote and an S3 remote: the archives in it, no manifest, signature or hidden file', async () => {
    const s = new RcloneSource({ env });
    expect((await s.list(`rclone:disk:${data}/`)).map((o) => [o.name, o.sizeBytes])).toEqual([['2026-11-22.db', archive.length], ['2026-11-23.tar.gz', 6]]);
    expect((await s.list(`rclone:disk:${data}`)).map((o) => o.location)).toEqual([`rclone:disk:${data}/2026-11-22.db`, `rclone:disk:${data}/2026-11-23.tar.gz`]);
    expect((await s.list('rclone:weed:backups/z4j')).map((o) => o.location)).toEqual(['rclone:weed:backups/z4j/2026-11-22.db']);
  });

  it('fetches the same archive from both remotes with its sha256 and size', async () => {
    for (const location of [`rclone:disk:${data}/2026-11-22.db`, 'rclone:weed:backups/z4j/2026-11-22.db']) {
      const target = join(work, 'fetched.db');
      const got = await fetchArchive(new RcloneSource({ env }), location, target, { expected: { sha256: sha, sizeBytes: archive.length } });
      expect(got).toMatchObject({ sha256: sha, sizeBytes: archive.length, object: { location, name: '2026-11-22.db' } });
      expect(readFileSync(target).equals(archive)).toBe(true);
      rmSync(target);
    }
  });

  it('reads the manifest beside the archive, undefined when there is none, refused past the limit', async () => {
    const s = new RcloneSource({ env });
    expect((await s.readSmall('rclone:weed:backups/z4j/2026-11-22.db.manifest.json', 1 << 20))?.toString()).toBe('{"m":1}');
    expect(await s.readSmall('rclone:weed:backups/z4j/none.db.manifest.json', 1 << 20)).toBeUndefined();
    expect(await s.readSmall(`rclone:disk:${data}/none.manifest.json`, 1 << 20)).toBeUndefined();
    await expect(s.readSmall(`rclone:disk:${data}/2026-11-22.db`, 1024)).rejects.toThrow(/file larger than the 1024 bytes allowed/);
  });

  it('a missing file, wrong credentials, an unknown remote: one line each, no secret in it', async () => {
    const cases: Array<[NodeJS.ProcessEnv, string, RegExp]> = [
      [env, 'rclone:weed:backups/z4j/nope.db', /: not found$/],
      [env, `rclone:disk:${data}/nope.db`, /: not found \(rclone exit [34]\)$/],
      [rcloneEnv('wrong-secret-value'), 'rclone:weed:backups/z4j/2026-11-22.db', /: access denied: rclone exit \d+: .*403/],
      [env, 'rclone:nosuch:x.db', /: rclone exit 1: Failed to create file system for "nosuch:x\.db": didn't find section in config file$/],
    ];
    for (const [e, location, line] of cases) {
      const target = join(work, 'failed.db');
      const err = await fetchArchive(new RcloneSource({ env: e }), location, target).catch((x: unknown) => x);
      expect(err, location).toBeInstanceOf(SourceError);
      const msg = (err as Error).message;
      expect(msg.startsWith(`${location}: `), msg).toBe(true);
      expect(msg).toMatch(line);
      expect(msg).not.toContain('\n');
      expect(msg).not.toContain('wrong-secret-value');
      expect(msg).not.toContain(weed.secretKey);
      expect(existsSync(target)).toBe(false);
    }
  });

  it('refuses a secret in an on-the-fly remote (it would be in the arguments) and never prints it', async () => {
    const s = new RcloneSource({ env });
    const location = ':s3,provider=Other,secret_access_key=TOPSECRET:backups/z4j/2026-11-22.db';
    await expect(s.open(`rclone:${location}`)).rejects.toThrow(/secrets in the location are refused/);
    expect(s.display(`rclone:${location}`)).not.toContain('TOPSECRET');
    await expect(s.open(`rclone:${location}`)).rejects.not.toThrow(/TOPSECRET/);
  });

  it('a directory cannot be opened as one archive (rclone cat would join its files)', async () => {
    await expect(new RcloneSource({ env }).open(`rclone:disk:${data}`)).rejects.toThrow(/a directory, not a file: list it first/);
  });
});
