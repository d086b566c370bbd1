import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import '../helpers/register-profiles.ts';
import { runCommand } from '../../harness/commands/run.ts';
import { mergeCommand } from '../../harness/commands/merge.ts';
import { prepareRunEnd, withRunEnd } from '../../harness/commands/run-end.ts';
import { keygenCommand, verifyCommand } from '../../harness/commands/evidence.ts';
import { reportStore } from '../../harness/fleet/report-to.ts';
import { RunReportSchema } from '../../harness/report/schema.ts';
import { SourceError } from '../../harness/sources/source-error.ts';
import { sampleRun } from '../helpers/sample-report.ts';
import { type Seaweed, startSeaweed, useSeaweedChain } from '../helpers/seaweed.ts';

/**
 * --report-to s3://BUCKET/PREFIX/ and merge from it, against a real SeaweedFS:
 * the worker writes its report and signed evidence through the s3 source's
 * SDK and configuration chain (the environment here, as a user's would be).
 */
let weed: Seaweed;
const work = mkdtempSync(join(tmpdir(), 'rd-report-to-test-'));
const savedEnv = { ...process.env };
const quiet = { out: () => {}, say: () => {} };
const backups = join(work, 'backups');
const key = join(work, 'signer');

beforeAll(async () => {
  weed = await startSeaweed();
  await weed.client.send(new CreateBucketCommand({ Bucket: 'reports' }));
  mkdirSync(backups);
  // No manifests: each archive is an `error` report of its shard, and no engine is needed to drill "nothing".
  for (const n of ['a', 'b', 'c']) writeFileSync(join(backups, `${n}.db`), n);
  await keygenCommand({ out: key, print: () => {} });
}, 300_000);

beforeEach(() => useSeaweedChain(weed, work));

afterAll(async () => {
  process.env = savedEnv;
  await weed?.stop();
  rmSync(work, { recursive: true, force: true });
});

async function keys(prefix: string): Promise<string[]> {
  const page = await weed.client.send(new ListObjectsV2Command({ Bucket: 'reports', Prefix: prefix }));
  return (page.Contents ?? []).map((o) => o.Key!).sort();
}

async function object(key: string): Promise<string> {
  const got = await weed.client.send(new GetObjectCommand({ Bucket: 'reports', Key: key }));
  return got.Body!.transformToString();
}

describe('--report-to s3:// and merge from it, on a real SeaweedFS', () => {
  it('two workers write shard-I-of-2.json and its signed envelope under the prefix; merge reads them back: every archive once, exit code of the whole', async () => {
    for (const i of [1, 2]) {
      const code = await runCommand({ profile: 'z4j', archives: [backups], shard: { index: i, count: 2 }, reportTo: 's3://reports/nightly/run-1/', sign: `${key}.key`, reporters: ['console'], ...quiet });
      expect(code).toBe(3);
    }
    expect(await keys('nightly/run-1/')).toEqual(['nightly/run-1/shard-1-of-2.dsse.json', 'nightly/run-1/shard-1-of-2.json', 'nightly/run-1/shard-2-of-2.dsse.json', 'nightly/run-1/shard-2-of-2.json']);
    const one = RunReportSchema.parse(JSON.parse(await object('nightly/run-1/shard-1-of-2.json')));
    expect(one.shard).toMatchObject({ index: 1, count: 2, selection: ['a', 'b', 'c'].map((n) => join(backups, `${n}.db`)) });
    // The envelope is verifiable offline, as a local run's is.
    const envelope = join(work, 'shard-1-of-2.dsse.json');
    writeFileSync(envelope, await object('nightly/run-1/shard-1-of-2.dsse.json'));
    const printed: string[] = [];
    expect(await verifyCommand({ report: envelope, pubkey: `${key}.pub`, print: (l) => printed.push(l) })).toBe(0);

    const json = join(work, 'merged.json');
    expect(await mergeCommand({ inputs: ['s3://reports/nightly/run-1/'], json, history: false, reporters: ['console'], ...quiet })).toBe(3);
    const merged = RunReportSchema.parse(JSON.parse(readFileSync(json, 'utf8')));
    expect(merged.drills.map((d) => d.archive.file)).toEqual(['a.db', 'b.db', 'c.db']);
    expect(merged.merged).toMatchObject({ count: 2, lost: [] });
    // One object named on its own: shard 2 never reported, so its archive is an error naming it.
    expect(await mergeCommand({ inputs: ['s3://reports/nightly/run-1/shard-1-of-2.json'], json, history: false, reporters: ['console'], ...quiet })).toBe(3);
    const half = RunReportSchema.parse(JSON.parse(readFileSync(json, 'utf8')));
    expect(half.drills.find((d) => d.archive.file === 'b.db')!.summary).toBe('plan: shard 2/2 never reported');
  });

  it('signed attestations go under the prefix too, beside the report and its envelope', async () => {
    const prepared = await prepareRunEnd({ sign: `${key}.key`, reporters: ['console'], history: false, notify: false, reportTo: { store: reportStore('s3://reports/evidence/'), name: 'shard-1-of-1.json' }, ...quiet });
    expect(await withRunEnd(prepared, () => 'x', (end) => end.finish(sampleRun()))).toBe(1);
    expect(await keys('evidence/')).toEqual(['evidence/shard-1-of-1.dsse.json', 'evidence/shard-1-of-1.intoto.jsonl', 'evidence/shard-1-of-1.json']);
    const bundle = join(work, 'shard-1-of-1.intoto.jsonl');
    writeFileSync(bundle, await object('evidence/shard-1-of-1.intoto.jsonl'));
    expect(await verifyCommand({ report: bundle, pubkey: `${key}.pub`, print: () => {} })).toBe(0);
  });

  it('a bucket that does not exist, or credentials the store refuses, stop the worker before any drill starts; nothing is written', async () => {
    const run = (reportTo: string) => runCommand({ profile: 'z4j', archives: [backups], shard: { index: 1, count: 1 }, reportTo, reporters: ['console'], ...quiet });
    await expect(run('s3://no-such-bucket/x/')).rejects.toSatisfy((e) => e instanceof SourceError && e.code === 'RD_SOURCE_NOT_FOUND');
    useSeaweedChain(weed, work, 'wrong');
    await expect(run('s3://reports/denied/')).rejects.toSatisfy((e) => e instanceof SourceError && e.code === 'RD_SOURCE_DENIED');
    useSeaweedChain(weed, work);
    expect(await keys('denied/')).toEqual([]);
  });
});
