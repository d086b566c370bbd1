import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { planCandidates } from '../../harness/drill/plan.ts';
import { History } from '../../harness/history/store.ts';
import type { DrillReport } from '../../harness/model/types.ts';
import type { Profile } from '../../harness/profile.ts';
import { registerProfiles } from '../../harness/profiles.ts';
import { selectArchives } from '../../harness/select/select.ts';
import { ownWorkDirs } from '../helpers/leftovers.ts';
import { historyCommand } from '../../harness/commands/history.ts';
import { captureCommand } from '../../harness/commands/capture.ts';
import { type Seaweed, startSeaweed } from '../helpers/seaweed.ts';

/**
 * A prefix in an S3-compatible store is a selection like a folder: --latest,
 * --oldest-undrilled (keyed by content digest), an archive without a manifest
 * listed as unproven. Planning reads only listings and manifests; nothing is fetched.
 */
let weed: Seaweed;
const work = mkdtempSync(join(tmpdir(), 'rd-selection-test-'));
const savedEnv = { ...process.env };

// A profile with no expectations of its own: what is tested here is the planning, not a contract.
// Its capture reads the archive file it is given (the fetched copy), as a real profile's does.
const toy = {
  name: 'toy',
  contract: { manifestProblems: () => [], emptiness: () => [] },
  capture: async ({ archive }: { archive: string }) => {
    const b = readFileSync(archive);
    return JSON.parse(manifestOf('2026-11-28', b, basename(archive))) as unknown;
  },
} as unknown as Profile;

const DAYS = ['2026-11-28', '2026-11-29', '2026-11-30'];
const body = (day: string) => Buffer.from(`backup of ${day}`);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function manifestOf(day: string, b = body(day), file = `${day}.tar`): string {
  return JSON.stringify({
    schemaVersion: 1,
    app: { name: 'toy', version: '1.0.0' },
    archive: { file, format: 'tar', sha256: sha(b), sizeBytes: b.length, createdAt: `${day}T02:00:00Z` },
    expectations: { counts: {} },
    capture: { tool: 'restore-drill', toolVersion: '0.1.0', capturedAt: `${day}T02:05:00Z` },
  });
}

beforeAll(async () => {
  registerProfiles([toy]);
  weed = await startSeaweed();
  await weed.client.send(new CreateBucketCommand({ Bucket: 'sel' }));
  const put = (Key: string, Body: Buffer | string) => weed.client.send(new PutObjectCommand({ Bucket: 'sel', Key, Body }));
  for (const day of DAYS) {
    await put(`nightly/${day}.tar`, body(day));
    await put(`nightly/${day}.tar.manifest.json`, manifestOf(day));
  }
  // Taken, never captured: unproven, never left out.
  await put('nightly/2026-12-01.tar', 'no manifest for this one');
}, 300_000);

afterAll(async () => {
  process.env = savedEnv;
  await weed?.stop();
  rmSync(work, { recursive: true, force: true });
});

beforeEach(() => {
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: weed.endpoint,
    AWS_ACCESS_KEY_ID: weed.accessKey,
    AWS_SECRET_ACCESS_KEY: weed.secretKey,
    AWS_CONFIG_FILE: join(work, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-aws-credentials'),
  });
});

describe('an s3:// prefix as a selection', () => {
  it('plans every archive below the prefix with the manifest beside it, and lists the one without a manifest as unproven', async () => {
    const planned = await planCandidates({ profile: 'toy', archives: ['s3://sel/nightly/'] });
    expect(planned.candidates.map((c) => c.plan.archive)).toEqual(DAYS.map((d) => `s3://sel/nightly/${d}.tar`));
    expect(planned.candidates.map((c) => c.plan.manifestPath)).toEqual(DAYS.map((d) => `s3://sel/nightly/${d}.tar.manifest.json`));
    expect(planned.candidates.every((c) => c.folder === 's3://sel/nightly/')).toBe(true);
    expect(planned.candidates[0]!.plan.remote?.object.version).toBeTruthy();
    expect(planned.unproven).toEqual([{ archive: 's3://sel/nightly/2026-12-01.tar', reason: expect.stringMatching(/^no manifest \(2026-12-01\.tar\.manifest\.json beside it\): this archive is unproven/) }]);
    // The previous backup in the same prefix is what the sharp-drop policy compares with.
    expect(planned.candidates[2]!.plan.previous?.path).toBe(`s3://sel/nightly/${DAYS[1]}.tar.manifest.json`);
  });

  it('--latest 1 picks the newest backup of the prefix (by the time its manifest records)', async () => {
    const planned = await planCandidates({ profile: 'toy', archives: ['s3://sel/nightly/'] });
    const picked = selectArchives(planned.candidates, { latest: 1 }, { now: new Date('2026-12-02T00:00:00Z') });
    expect(picked.map((c) => c.plan.archive)).toEqual([`s3://sel/nightly/${DAYS[2]}.tar`]);
  });

  it('--oldest-undrilled skips an archive whose content passed a drill, whatever the path it was drilled under', async () => {
    const history = History.open(join(work, 'history.db'));
    try {
      // The oldest backup's bytes passed a drill, recorded under another location.
      const passed = { drillId: 'x1', profile: 'toy', archive: { path: '/old/place/copy.tar', file: 'copy.tar', sha256: sha(body(DAYS[0]!)) }, verdict: 'passed', summary: 'ok', stages: [], checks: [], startedAt: '2026-12-01T00:00:00Z', finishedAt: '2026-12-01T00:10:00Z', durationMs: 1 } satisfies DrillReport;
      history.record(passed);
      const planned = await planCandidates({ profile: 'toy', archives: ['s3://sel/nightly/'] });
      const picked = selectArchives(planned.candidates, { oldestUndrilled: 1 }, { now: new Date('2026-12-02T00:00:00Z'), lastPassed: (p, s) => history.lastPassed(p, s) });
      expect(picked.map((c) => c.plan.archive)).toEqual([`s3://sel/nightly/${DAYS[1]}.tar`]);
    } finally {
      history.close();
    }
  });

  it('--manifest cannot name the manifest of a whole prefix', async () => {
    const e = await planCandidates({ profile: 'toy', archives: ['s3://sel/nightly/'], manifest: 's3://sel/nightly/2026-11-28.tar.manifest.json' }).catch((x: unknown) => x as Error);
    expect((e as Error).message).toBe('--manifest names the manifest of one archive; give one archive with it');
  });

  it('history --coverage takes a prefix: each archive judged by its content as it is in the store now, the one without a manifest unproven', async () => {
    const historyFile = join(work, 'coverage.db');
    const h = History.open(historyFile);
    h.record({ drillId: 'c1', profile: 'toy', archive: { path: 's3://sel/nightly/2026-11-28.tar', file: '2026-11-28.tar', sha256: sha(body(DAYS[0]!)) }, verdict: 'passed', summary: 'ok', stages: [], checks: [], startedAt: '2026-12-01T00:00:00Z', finishedAt: '2026-12-01T00:10:00Z', durationMs: 1 });
    h.close();
    const lines: string[] = [];
    const code = await historyCommand({ since: '30d', maxAge: '30d', coverage: true, history: historyFile, paths: ['s3://sel/nightly/'], now: new Date('2026-12-02T00:00:00Z'), print: (l) => lines.push(l) });
    expect(code).toBe(1);
    expect(lines).toEqual([
      's3://sel/nightly/2026-11-29.tar\tnever passed a drill (as it is now: its content has no passed drill)',
      's3://sel/nightly/2026-11-30.tar\tnever passed a drill (as it is now: its content has no passed drill)',
      's3://sel/nightly/2026-12-01.tar\tunproven: no manifest beside it, so it cannot be drilled',
      '3 of 4 archives without a passed drill in the last 30d',
    ]);
  });

  it('manifest capture reads an archive in a store once into a private folder it removes, and writes the manifest to --out (never to the store)', async () => {
    const said: string[] = [];
    const noOut = await captureCommand({ profile: 'toy', archive: 's3://sel/nightly/2026-11-28.tar', say: (l) => said.push(l) }).catch((x: unknown) => x as Error);
    expect((noOut as Error).message).toMatch(/^s3:\/\/sel\/nightly\/2026-11-28\.tar: give --out FILE for the manifest of an archive in a store/);
    const before = ownWorkDirs(tmpdir(), 'restore-drill-capture-');
    const out = join(work, 'captured.manifest.json');
    expect(await captureCommand({ profile: 'toy', archive: 's3://sel/nightly/2026-11-28.tar', out, say: (l) => said.push(l) })).toBe(0);
    const m = JSON.parse(readFileSync(out, 'utf8')) as { archive: { file: string; sha256: string; sizeBytes: number } };
    expect(m.archive).toMatchObject({ file: '2026-11-28.tar', sha256: sha(body(DAYS[0]!)), sizeBytes: body(DAYS[0]!).length });
    expect(said[0]).toMatch(/^fetched s3:\/\/sel\/nightly\/2026-11-28\.tar \(version [0-9a-f]+\)$/);
    // The fetched copy's folder is gone.
    expect(ownWorkDirs(tmpdir(), 'restore-drill-capture-')).toEqual(before);
    expect(existsSync(out)).toBe(true);
  });
});
