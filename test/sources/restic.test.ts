import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchArchive } from '../../harness/sources/fetch.ts';
import { ResticSource } from '../../harness/sources/restic.ts';
import { SourceError } from '../../harness/sources/source-error.ts';
import { type Seaweed, startSeaweed } from '../helpers/seaweed.ts';
import { ensureDebianTool } from '../helpers/source-tools.ts';

const work = mkdtempSync(join(tmpdir(), 'rd-restic-test-'));
const data = join(work, 'var', 'backups', 'z4j');
const password = `pw-${randomBytes(6).toString('hex')}`;
const archive = randomBytes(2 * 1024 * 1024 + 5);
const sha = createHash('sha256').update(archive).digest('hex');
let weed: Seaweed;
let env: NodeJS.ProcessEnv;
let localRepo: string;
let s3Repo: string;

function restic(repo: string, args: string[], extra: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync('restic', ['--quiet', ...args], { env: { ...env, RESTIC_REPOSITORY: repo, ...extra }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`restic ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function snapshotIds(repo: string): Array<{ id: string; hostname: string }> {
  return JSON.parse(restic(repo, ['snapshots', '--json'])) as Array<{ id: string; hostname: string }>;
}

beforeAll(async () => {
  ensureDebianTool('restic');
  weed = await startSeaweed();
  await weed.client.send(new CreateBucketCommand({ Bucket: 'restic' }));
  writeFileSync(join(work, 'password'), `${password}\n`);
  env = {
    PATH: process.env.PATH,
    HOME: work,
    RESTIC_PASSWORD_FILE: join(work, 'password'),
    RESTIC_CACHE_DIR: join(work, 'cache'),
    AWS_ACCESS_KEY_ID: weed.accessKey,
    AWS_SECRET_ACCESS_KEY: weed.secretKey,
  };
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, '2026-11-22.db'), archive);
  writeFileSync(join(data, '2026-11-22.db.manifest.json'), '{"m":1}');
  writeFileSync(join(data, '2026-11-22.db.manifest.dsse.json'), '{}');
  writeFileSync(join(data, '.hidden'), 'x');
  mkdirSync(join(data, 'old'));
  writeFileSync(join(data, 'old', 'older.db'), 'deeper');
  localRepo = join(work, 'repo');
  s3Repo = `s3:${weed.endpoint}/restic/repo`;
  for (const repo of [localRepo, s3Repo]) {
    restic(repo, ['init']);
    restic(repo, ['backup', '--host', 'web1', '--tag', 'nightly', data]);
  }
  // A later snapshot from another host, whose archive differs: `latest` alone names it.
  writeFileSync(join(data, '2026-11-22.db'), 'changed later on web2');
  restic(localRepo, ['backup', '--host', 'web2', data]);
}, 600_000);

afterAll(async () => {
  await weed?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('restic: through the real restic CLI', () => {
  it('lists a file in the latest snapshot a host made, pinned to that snapshot id', async () => {
    const s = new ResticSource({ env });
    const web1 = snapshotIds(localRepo).find((x) => x.hostname === 'web1')!.id;
    const got = await s.list(`restic:${localRepo}#latest,host=web1:${data}/2026-11-22.db`);
    expect(got).toEqual([
      expect.objectContaining({ location: `restic:${localRepo}#${web1}:${data}/2026-11-22.db`, name: '2026-11-22.db', sizeBytes: archive.length, version: web1 }),
    ]);
    const latest = await s.list(`restic:${localRepo}#latest:${data}/2026-11-22.db`);
    expect(latest[0]!.version).not.toBe(web1);
    expect(latest[0]!.sizeBytes).toBe('changed later on web2'.length);
  });

  it('lists a folder in a snapshot: the archives directly in it, no manifest, signature, hidden file or subfolder', async () => {
    const got = await new ResticSource({ env }).list(`restic:${localRepo}#latest,tag=nightly:${data}/`);
    expect(got.map((o) => o.name)).toEqual(['2026-11-22.db']);
  });

  it('fetches the archive from a local repository and one on the S3 server, with sha256, size and snapshot id', async () => {
    for (const repo of [localRepo, s3Repo]) {
      const [listed] = await new ResticSource({ env }).list(`restic:${repo}#latest,host=web1:${data}/2026-11-22.db`);
      const target = join(work, `fetched-${repo === localRepo ? 'local' : 's3'}.db`);
      const got = await fetchArchive(new ResticSource({ env }), listed!.location, target, { expected: { sha256: sha, sizeBytes: archive.length } });
      expect(got).toMatchObject({ sha256: sha, sizeBytes: archive.length, object: { version: listed!.version } });
      expect(readFileSync(target).equals(archive)).toBe(true);
      rmSync(target);
    }
  });

  it('reads the manifest beside the archive from the same snapshot, undefined when there is none', async () => {
    const s = new ResticSource({ env });
    const [listed] = await s.list(`restic:${localRepo}#latest,host=web1:${data}/2026-11-22.db`);
    expect((await s.readSmall(`${listed!.location}.manifest.json`, 1 << 20))?.toString()).toBe('{"m":1}');
    expect(await s.readSmall(`${listed!.location}.nothing.json`, 1 << 20)).toBeUndefined();
    await expect(s.readSmall(listed!.location, 1024)).rejects.toThrow(/more than the 1024 bytes allowed/);
  });

  it('a wrong password, a missing path, an unknown snapshot, a filter nothing matches, no repository: one line each, no password in it', async () => {
    const wrong = join(work, 'wrong-password');
    writeFileSync(wrong, 'not-the-password\n');
    const cases: Array<[ResticSource, string, RegExp]> = [
      [new ResticSource({ env: { ...env, RESTIC_PASSWORD_FILE: wrong } }), `restic:${localRepo}#latest:${data}/2026-11-22.db`, /: the repository refused the password \(RESTIC_PASSWORD_FILE/],
      [new ResticSource({ env }), `restic:${localRepo}#latest:${data}/nope.db`, /: not found in snapshot [0-9a-f]{8}$/],
      [new ResticSource({ env }), `restic:${localRepo}#deadbeef:${data}/2026-11-22.db`, /: no snapshot deadbeef in the repository$/],
      [new ResticSource({ env }), `restic:${localRepo}#latest,host=nobody:${data}/2026-11-22.db`, /: no snapshot matched latest with host=nobody$/],
      [new ResticSource({ env }), `restic:${join(work, 'no-repo')}#latest:${data}/2026-11-22.db`, /: no restic repository there \(restic exit 1: /],
    ];
    for (const [s, location, line] of cases) {
      const target = join(work, 'failed.db');
      const e = await fetchArchive(s, location, target).catch((x: unknown) => x);
      expect(e, location).toBeInstanceOf(SourceError);
      const msg = (e as Error).message;
      expect(msg.startsWith(`${location}: `), msg).toBe(true);
      expect(msg).toMatch(line);
      expect(msg).not.toContain('\n');
      expect(msg).not.toContain(password);
      expect(existsSync(target)).toBe(false);
    }
  });

  it('a folder cannot be opened as one archive', async () => {
    await expect(new ResticSource({ env }).open(`restic:${localRepo}#latest:${data}`)).rejects.toThrow(/a folder, not a file: list it first/);
  });
});
