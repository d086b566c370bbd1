import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerRuntime } from '../../harness/runtime/docker.ts';
import { ensureEngine } from '../../harness/runtime/engine.ts';
import { planCandidates } from '../../harness/drill/plan.ts';
import { runDrill } from '../../harness/drill/run-drill.ts';
import type { DrillReport } from '../../harness/model/types.ts';
import { makeZ4jDeployment, type Deployment } from '../../scenarios/z4j/sample/deployment.ts';
import { makeZ4jPgDeployment } from '../../scenarios/z4j/pg/sample/deployment.ts';
import { Z4J_PG_TEST_MAJOR } from '../../scenarios/z4j/pg/image.ts';
import { Z4J_PINNED_VERSION } from '../../scenarios/z4j/version.ts';
import { makeStandinDeployment, type StandinDeployment } from '../fixtures/hiveloom-standin/deployment.ts';
import { capture, failures } from '../helpers/drill.ts';
import { rcloneWeedEnv, type Seaweed, startSeaweed } from '../helpers/seaweed.ts';
import { startCutProxy } from '../helpers/cut-proxy.ts';
import { ensureDebianTool } from '../helpers/source-tools.ts';
import { skipReason } from './engine.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

/**
 * Drills from s3:// on a real SeaweedFS started on loopback: the manifest read
 * beside the archive, the bytes fetched once into the drill's work folder and
 * checked as they arrive, the location and ETag in the report.
 */
describe.skipIf(skipReason)('drills from an S3-compatible store (SeaweedFS on 127.0.0.1)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-sources-drill-'));
  const savedEnv = { ...process.env };
  let weed: Seaweed;
  let z4j: Deployment;
  let hive: StandinDeployment;

  const put = (Key: string, Body: Buffer | string) => weed.client.send(new PutObjectCommand({ Bucket: 'drills', Key, Body }));

  async function drillAt(location: string, opts: { secrets?: string; hiveloom?: boolean; rtoMs?: number } = {}): Promise<DrillReport> {
    const engine = await ensureEngine();
    const planned = await planCandidates({
      profile: opts.hiveloom ? 'hiveloom' : 'z4j',
      archives: [location],
      ...(opts.secrets ? { secrets: opts.secrets } : {}),
      ...(opts.rtoMs ? { rtoMs: opts.rtoMs } : {}),
    });
    expect(planned.unproven).toEqual([]);
    const plan = planned.candidates[0]!.plan;
    // The stand-in is drilled with the profile wired to it (its launcher as the binary).
    return runDrill(opts.hiveloom ? { ...plan, profile: hive.profile } : plan, { runtime: dockerRuntime(engine) });
  }

  /**
   * The user's rclone config: a local remote in a file and the S3 remote (this
   * SeaweedFS) as RCLONE_CONFIG_WEED_* variables. rclone's S3 client refuses a
   * CA bundle with its own transport, and the endpoint is plain http anyway.
   */
  function useRclone(): void {
    writeFileSync(join(dir, 'rclone.conf'), '[disk]\ntype = local\n');
    Object.assign(process.env, {
      RCLONE_CONFIG: join(dir, 'rclone.conf'),
      ...rcloneWeedEnv(weed),
      RCLONE_LOW_LEVEL_RETRIES: '2',
    });
    delete process.env.AWS_CA_BUNDLE;
  }

  beforeAll(async () => {
    weed = await startSeaweed();
    // What a user's environment gives the SDK's chain: a custom endpoint and keys, no AWS files.
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_S3: weed.endpoint,
      AWS_ACCESS_KEY_ID: weed.accessKey,
      AWS_SECRET_ACCESS_KEY: weed.secretKey,
      AWS_CONFIG_FILE: join(dir, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-aws-credentials'),
      AWS_MAX_ATTEMPTS: '2',
    });
    delete process.env.AWS_PROFILE;
    await weed.client.send(new CreateBucketCommand({ Bucket: 'drills' }));
    const runtime = await testRuntime();
    z4j = await makeZ4jDeployment({ runtime, version: Z4J_PINNED_VERSION, outDir: dir, name: 'z4j-2026-12-01.db' });
    await capture('z4j', z4j.archive, z4j.secrets);
    hive = await makeStandinDeployment(runtime, dir);
    const { captureCommand } = await import('../../harness/commands/capture.ts');
    await captureCommand({ profile: 'hiveloom', archive: hive.instanceArchive, appVersion: hive.version, force: true, say: () => {} });
    for (const a of [z4j.archive, hive.instanceArchive]) {
      const folder = a === z4j.archive ? 'z4j' : 'hiveloom';
      await put(`${folder}/${basename(a)}`, readFileSync(a));
      await put(`${folder}/${basename(a)}.manifest.json`, readFileSync(`${a}.manifest.json`));
    }
    // The same name and manifest, one byte changed after capture (the size the same: only the sha256 can tell).
    const changed = Buffer.from(readFileSync(z4j.archive));
    changed[changed.length - 1]! ^= 0xff;
    await put(`changed/${basename(z4j.archive)}`, changed);
    await put(`changed/${basename(z4j.archive)}.manifest.json`, readFileSync(`${z4j.archive}.manifest.json`));
    // An archive with no manifest beside it.
    await put(`orphan/${basename(z4j.archive)}`, readFileSync(z4j.archive));
  }, 900_000);

  afterAll(async () => {
    process.env = savedEnv;
    await weed?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes a z4j SQLite archive drilled from s3://, its manifest beside it; the report names the location, the ETag and the fetch with its bytes', async () => {
    const location = `s3://drills/z4j/${basename(z4j.archive)}`;
    // A generous budget: the recovery time is measured and judged within it.
    const r = await drillAt(location, { secrets: z4j.secrets, rtoMs: 3_600_000 });
    expect(failures(r)).toEqual([]);
    expect(r.verdict).toBe('passed');
    expect(r.checks.find((c) => c.id === 'rto.budget')).toMatchObject({ status: 'pass', stage: 'compare' });
    expect(r.recovery).toMatchObject({ budgetMs: 3_600_000, budgetFrom: 'command line' });
    // The recovery time covers the fetch and everything up to the probe's first answer, and no more than the drill.
    const upToProbe = r.stages.filter((s) => s.name !== 'compare').reduce((n, s) => n + s.durationMs, 0) - r.stages.find((s) => s.name === 'probe')!.durationMs;
    expect(r.recovery!.ms!).toBeGreaterThanOrEqual(Math.floor(upToProbe));
    expect(r.recovery!.ms!).toBeLessThanOrEqual(Math.ceil(r.durationMs));
    const size = readFileSync(z4j.archive).length;
    expect(r.archive).toMatchObject({ path: location, file: basename(z4j.archive), sizeBytes: size, source: { kind: 's3', location } });
    expect(r.archive.source?.version).toMatch(/^[0-9a-f]{32}$/);
    expect(r.manifest?.path).toBe(`${location}.manifest.json`);
    const fetch = r.stages.find((s) => s.name === 'fetch');
    expect(fetch).toMatchObject({ status: 'passed', bytes: size });
    expect(r.stages.map((s) => s.name).slice(0, 3)).toEqual(['fetch', 'integrity', 'inspect']);
    // No credential anywhere in what the drill wrote.
    expect(JSON.stringify(r)).not.toContain(weed.secretKey);
  });

  it('passes a z4j PostgreSQL dump drilled from s3://, its manifest beside it', async () => {
    // Made here rather than in beforeAll: only this case needs a live PostgreSQL deployment.
    const runtime = await testRuntime();
    const live = await makeZ4jPgDeployment({ runtime, version: Z4J_PINNED_VERSION, pgMajor: Z4J_PG_TEST_MAJOR, outDir: join(dir, 'pg'), name: 'z4j-pg-2026-12-01.dump' });
    let size: number;
    try {
      await capture('z4j', live.archive, live.secrets);
      size = readFileSync(live.archive).length;
      await put(`z4j-pg/${basename(live.archive)}`, readFileSync(live.archive));
      await put(`z4j-pg/${basename(live.archive)}.manifest.json`, readFileSync(`${live.archive}.manifest.json`));
    } finally {
      // The drill restores into its own fresh server: the live one is not needed past capture.
      await live.stop();
    }
    const location = `s3://drills/z4j-pg/${basename(live.archive)}`;
    const r = await drillAt(location, { secrets: live.secrets });
    expect(failures(r)).toEqual([]);
    expect(r.verdict).toBe('passed');
    expect(r.archive).toMatchObject({ path: location, sizeBytes: size, source: { kind: 's3', location } });
    expect(r.image?.tag).toContain(`restore-drill/z4j-pg:${Z4J_PINNED_VERSION}-pg${Z4J_PG_TEST_MAJOR}-`);
    expect(r.manifest?.path).toBe(`${location}.manifest.json`);
    expect(r.stages.map((s) => s.name).slice(0, 3)).toEqual(['fetch', 'integrity', 'inspect']);
    expect(r.checks.find((c) => c.id === 'restore.z4j-restore')?.reason).toMatch(/^z4j restore --force completed \(postgres backend\)/);
    expect(r.checks.find((c) => c.id === 'compare.chain.walk')?.reason).toMatch(/^all \d+ audit_log rows verify and link$/);
  });

  it('passes a Hiveloom (stand-in) instance archive drilled from s3://', async () => {
    const r = await drillAt(`s3://drills/hiveloom/${basename(hive.instanceArchive)}`, { hiveloom: true });
    expect(failures(r)).toEqual([]);
    expect(r.verdict).toBe('passed');
    expect(r.archive.source?.kind).toBe('s3');
  });

  it('passes the z4j archive drilled from a restic repository on the S3 store, pinned to the snapshot its manifest came from', async () => {
    ensureDebianTool('restic');
    const folder = dirname(z4j.archive);
    writeFileSync(join(dir, 'restic-password'), `pw-${randomBytes(6).toString('hex')}\n`, { mode: 0o600 });
    Object.assign(process.env, { RESTIC_PASSWORD_FILE: join(dir, 'restic-password'), RESTIC_CACHE_DIR: join(dir, 'restic-cache') });
    await weed.client.send(new CreateBucketCommand({ Bucket: 'restic' }));
    const repo = `s3:${weed.endpoint}/restic/repo`;
    const restic = (args: string[]) => {
      const r = spawnSync('restic', ['--quiet', ...args], { env: { ...process.env, RESTIC_REPOSITORY: repo }, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`restic ${args[0]}: ${r.stderr}`);
      return r.stdout;
    };
    restic(['init']);
    // The archive and its manifest, as a backup job would have them in one snapshot.
    restic(['backup', '--host', 'db1', z4j.archive, `${z4j.archive}.manifest.json`]);
    const [snap] = JSON.parse(restic(['snapshots', '--json'])) as Array<{ id: string }>;
    const r = await drillAt(`restic:${repo}#latest,host=db1:${folder}/${basename(z4j.archive)}`, { secrets: z4j.secrets });
    expect(failures(r)).toEqual([]);
    expect(r.verdict).toBe('passed');
    expect(r.archive.source).toEqual({ kind: 'restic', location: `restic:${repo}#${snap!.id}:${folder}/${basename(z4j.archive)}`, version: snap!.id });
    expect(r.manifest?.path).toBe(`restic:${repo}#${snap!.id}:${folder}/${basename(z4j.archive)}.manifest.json`);
  });

  it('passes the z4j archive drilled from an rclone remote on the same S3 store, its manifest beside it', async () => {
    ensureDebianTool('rclone');
    useRclone();
    const location = `rclone:weed:drills/z4j/${basename(z4j.archive)}`;
    const r = await drillAt(location, { secrets: z4j.secrets });
    expect(failures(r)).toEqual([]);
    expect(r.verdict).toBe('passed');
    const size = readFileSync(z4j.archive).length;
    expect(r.archive).toMatchObject({ path: location, file: basename(z4j.archive), sizeBytes: size, source: { kind: 'rclone', location } });
    expect(r.manifest?.path).toBe(`${location}.manifest.json`);
    expect(r.stages.find((s) => s.name === 'fetch')).toMatchObject({ status: 'passed', bytes: size });
    expect(r.stages.map((s) => s.name).slice(0, 3)).toEqual(['fetch', 'integrity', 'inspect']);
    expect(JSON.stringify(r)).not.toContain(weed.secretKey);
  });

  it('fails an archive changed after capture on an rclone local remote at integrity, with nothing started', async () => {
    ensureDebianTool('rclone');
    useRclone();
    // The same name and manifest in a folder of the local remote, one byte changed (the size the same).
    const folder = join(dir, 'rclone-local');
    mkdirSync(folder, { recursive: true });
    const changed = Buffer.from(readFileSync(z4j.archive));
    changed[0]! ^= 0xff;
    writeFileSync(join(folder, basename(z4j.archive)), changed);
    writeFileSync(join(folder, `${basename(z4j.archive)}.manifest.json`), readFileSync(`${z4j.archive}.manifest.json`));
    const location = `rclone:disk:${folder}/${basename(z4j.archive)}`;
    const r = await drillAt(location, { secrets: z4j.secrets });
    expect(r.verdict).toBe('failed');
    expect(r.stages.map((s) => s.name)).toEqual(['fetch', 'integrity']);
    expect(r.image).toBeUndefined();
    expect(r.archive.source).toMatchObject({ kind: 'rclone', location });
    const sha = r.checks.find((c) => c.id === 'integrity.sha256')!;
    expect(sha).toMatchObject({ status: 'fail', stage: 'integrity' });
    expect(sha.reason).toContain(`${location}: sha256`);
  });

  it('fails a drill over its recovery-time budget at compare, naming the budget, the measured time and the longest stage', async () => {
    const r = await drillAt(`s3://drills/z4j/${basename(z4j.archive)}`, { secrets: z4j.secrets, rtoMs: 1000 });
    expect(r.verdict).toBe('failed');
    const rto = r.checks.find((c) => c.id === 'rto.budget')!;
    expect(rto.status).toBe('fail');
    expect(rto.reason).toMatch(/^recovery took \d+\.\d s, over the budget 1\.0 s \(--rto\); the longest stage was (fetch|integrity|inspect|provision|restore|probe) \(\d+\.\d s\)$/);
    expect(rto.reason).toContain(`the longest stage was ${r.recovery!.longestStage}`);
    // Everything else about the backup still passed: only the budget failed it.
    expect(failures(r)).toEqual([`compare/rto.budget: ${rto.reason}`]);
  });

  it('a store that closes the connection mid-stream ends the drill error at fetch, in one line, with nothing started', async () => {
    const size = readFileSync(z4j.archive).length;
    const port = Number(new URL(weed.endpoint).port);
    const proxy = await startCutProxy({ host: '127.0.0.1', port }, Math.floor(size / 2));
    try {
      process.env.AWS_ENDPOINT_URL_S3 = proxy.url;
      const location = `s3://drills/z4j/${basename(z4j.archive)}`;
      const r = await drillAt(location, { secrets: z4j.secrets });
      expect(r.verdict).toBe('error');
      expect(r.stages.map((s) => s.name)).toEqual(['fetch']);
      expect(r.image).toBeUndefined();
      expect(r.checks).toEqual([{ id: 'fetch.source', stage: 'fetch', status: 'error', reason: expect.stringMatching(new RegExp(`^${location.replace(/[.]/g, '\\.')}: connection cut`)) }]);
    } finally {
      process.env.AWS_ENDPOINT_URL_S3 = weed.endpoint;
      await proxy.close();
    }
  });

  it('wrong credentials and a missing object are refused before anything starts, each in one line with exit code 3', async () => {
    const location = `s3://drills/z4j/${basename(z4j.archive)}`;
    const refusal = (archives: string[]) => planCandidates({ profile: 'z4j', archives }).then(() => undefined, (x: unknown) => x as { message: string; code: string; exitCode: number });
    process.env.AWS_SECRET_ACCESS_KEY = 'not-the-secret';
    try {
      const denied = await refusal([location]);
      expect(denied).toMatchObject({ code: 'RD_SOURCE_DENIED', exitCode: 3 });
      expect(denied!.message).toMatch(new RegExp(`^${location.replace(/[.]/g, '\\.')}: access denied \\(403`));
      expect(denied!.message).not.toContain('not-the-secret');
    } finally {
      process.env.AWS_SECRET_ACCESS_KEY = weed.secretKey;
    }
    const missing = await refusal(['s3://drills/z4j/no-such.db']);
    expect(missing).toMatchObject({ code: 'RD_SOURCE_NOT_FOUND', exitCode: 3, message: 's3://drills/z4j/no-such.db: no such object (404); a prefix ends with /' });
  });

  it('fails an object changed after capture at integrity, with nothing started', async () => {
    const r = await drillAt(`s3://drills/changed/${basename(z4j.archive)}`, { secrets: z4j.secrets });
    expect(r.verdict).toBe('failed');
    expect(r.stages.map((s) => s.name)).toEqual(['fetch', 'integrity']);
    expect(r.image).toBeUndefined();
    const sha = r.checks.find((c) => c.id === 'integrity.sha256')!;
    expect(sha.status).toBe('fail');
    expect(sha.stage).toBe('integrity');
    expect(sha.reason).toContain(`s3://drills/changed/${basename(z4j.archive)}: sha256`);
  });

  it('an archive named alone with no manifest beside it is refused in one line; in a listed prefix it is unproven, never left out', async () => {
    const named = `s3://drills/orphan/${basename(z4j.archive)}`;
    const e = await planCandidates({ profile: 'z4j', archives: [named] }).then(
      () => undefined,
      (x: unknown) => x as { message: string; code: string },
    );
    expect(e?.code).toBe('RD_MANIFEST_UNREADABLE');
    expect(e?.message).toBe(`${named}: no manifest at ${named}.manifest.json; capture it with "restore-drill manifest capture" and store it beside the archive, or give --manifest`);
    const listed = await planCandidates({ profile: 'z4j', archives: ['s3://drills/orphan/'] });
    expect(listed.candidates).toEqual([]);
    expect(listed.unproven).toEqual([{ archive: named, reason: expect.stringMatching(/^no manifest \(.*\.manifest\.json beside it\): this archive is unproven/) }]);
  });
});
