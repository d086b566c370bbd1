import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dealOrder, defaultRunId, parseRunId, parseShard, parseShardFileName, shardFileName, shardOf, type ShardItem } from '../../harness/fleet/shard.ts';
import { splitSelection } from '../../harness/fleet/split.ts';
import { checkCommandLine } from '../../harness/cli.ts';

/** Locations drawn from a small alphabet so that equal locations (the same archive named twice) and shared prefixes happen. */
const item = fc.record(
  { location: fc.stringMatching(/^\/b\/[ab/é.]{0,4}$/), digest: fc.option(fc.stringMatching(/^[0-9a-f]{2}$/), { nil: undefined }) },
  { requiredKeys: ['location'] },
) as fc.Arbitrary<ShardItem>;
const key = (i: ShardItem) => `${i.location}\u0000${i.digest ?? ''}`;

describe('shardOf: the split of a selection', () => {
  it('for any selection and any N, the shards partition it exactly: each archive in one shard, none lost, sizes within one', () => {
    fc.assert(
      fc.property(fc.array(item, { maxLength: 60 }), fc.integer({ min: 1, max: 25 }), (items, n) => {
        const shards = Array.from({ length: n }, (_, i) => shardOf(items, i + 1, n));
        const union = shards.flat();
        // Object identity: the same entry never lands in two shards, and every entry lands somewhere.
        expect(new Set(union).size).toBe(union.length);
        expect(new Set(union)).toEqual(new Set(items));
        const sizes = shards.map((s) => s.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }),
      { numRuns: 400 },
    );
  });

  it('is the same split whatever order the archives came in (a listing, a glob, another machine)', () => {
    fc.assert(
      fc.property(
        fc.array(item, { maxLength: 40 }).chain((items) => fc.tuple(fc.constant(items), fc.shuffledSubarray(items, { minLength: items.length, maxLength: items.length }))),
        fc.integer({ min: 1, max: 9 }),
        ([items, shuffled], n) => {
          for (let i = 1; i <= n; i++) expect(shardOf(shuffled, i, n).map(key)).toEqual(shardOf(items, i, n).map(key));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('deals by location in byte order, then digest, round-robin: 1/2 takes the 1st, 3rd, 5th', () => {
    const items = ['/b/e', '/b/a', '/b/Z', '/b/c', '/b/é', '/b/a'].map((location, i) => ({ location, digest: String(9 - i) }));
    expect(dealOrder(items).map((i) => `${i.location}:${i.digest}`)).toEqual(['/b/Z:7', '/b/a:4', '/b/a:8', '/b/c:6', '/b/e:9', '/b/é:5']);
    expect(shardOf(items, 1, 2).map((i) => i.location)).toEqual(['/b/Z', '/b/a', '/b/e']);
    expect(shardOf(items, 2, 2).map((i) => i.location)).toEqual(['/b/a', '/b/c', '/b/é']);
    // More shards than archives: the extra shards are empty, not an error.
    expect(shardOf(items, 7, 8)).toEqual([]);
    expect(() => shardOf(items, 0, 2)).toThrow(/shards are 1\.\.N/);
  });
});

describe('run identity', () => {
  const base = { profile: 'z4j', selection: ['/b/1.db', '/b/2.db'], count: 2 };
  it('the default run id is a digest of profile, selection, N and seed: the same on every worker, different when any differs', () => {
    expect(defaultRunId(base)).toBe(defaultRunId({ ...base, selection: [...base.selection] }));
    expect(defaultRunId(base)).toMatch(/^sel-[0-9a-f]{16}$/);
    const others = [
      { ...base, count: 3 },
      { ...base, selection: ['/b/1.db'] },
      { ...base, selection: ['/b/2.db', '/b/1.db'] },
      { ...base, seed: 7 },
      { ...base, profile: 'hiveloom' },
    ].map(defaultRunId);
    expect(new Set([defaultRunId(base), ...others]).size).toBe(6);
  });

  it('splitSelection: every worker agrees on the run id and the selection whatever order its plans came in; unproven archives are dealt too', () => {
    const plan = (archive: string, sha256: string) => ({ archive, manifest: { archive: { sha256 } } }) as unknown as Parameters<typeof splitSelection>[0][number];
    const plans = [plan('/b/c.db', 'c'.repeat(64)), plan('/b/a.db', 'a'.repeat(64)), plan('/b/d.db', 'd'.repeat(64))];
    const unproven = [{ archive: '/b/b.db', reason: 'no manifest' }];
    const one = splitSelection(plans, unproven, { index: 1, count: 2 }, { profile: 'z4j', node: 'n1' });
    const two = splitSelection([...plans].reverse(), unproven, { index: 2, count: 2 }, { profile: 'z4j' });
    expect(one.info.selection).toEqual(['/b/a.db', '/b/b.db', '/b/c.db', '/b/d.db']);
    expect(two.info.selection).toEqual(one.info.selection);
    expect(two.info.runId).toBe(one.info.runId);
    expect([one.plans.map((p) => p.archive), one.unproven]).toEqual([['/b/c.db', '/b/a.db'], []]);
    expect([two.plans.map((p) => p.archive).sort(), two.unproven.map((u) => u.archive)]).toEqual([['/b/d.db'], ['/b/b.db']]);
    expect(one.info).toMatchObject({ index: 1, count: 2, node: 'n1' });
    expect(splitSelection(plans, unproven, { index: 1, count: 2 }, { profile: 'z4j', runId: 'ci-4711' }).info.runId).toBe('ci-4711');
  });
});

describe('--shard, --run-id and shard file names', () => {
  it('parses I/N counting from 1 and refuses anything else with one line', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    expect(parseShard(' 1 / 1 ')).toEqual({ index: 1, count: 1 });
    for (const bad of ['0/3', '4/3', '1/0', '1', '1/2/3', '-1/2', 'a/b', '1.5/2', '1/10001']) expect(() => parseShard(bad), bad).toThrow(/--shard takes I\/N/);
    expect(parseRunId('gitlab-pipeline:4711')).toBe('gitlab-pipeline:4711');
    for (const bad of ['', '-x', 'a b', 'a/b', 'x'.repeat(129), 'a\nb']) expect(() => parseRunId(bad)).toThrow(/--run-id takes/);
    expect(shardFileName(2, 3)).toBe('shard-2-of-3.json');
    expect(parseShardFileName('shard-2-of-3.json')).toEqual({ index: 2, count: 3 });
    for (const other of ['shard-4-of-3.json', 'shard-0-of-3.json', 'shard-1-of-3.dsse.json', 'shard-01-of-3.json', 'report.json']) expect(parseShardFileName(other)).toBeUndefined();
  });

  it('the command line takes the worker and merge options as README writes them', async () => {
    await checkCommandLine(['run', '--profile', 'z4j', '--shard', '2/3', '--run-id', 'ci-1', '--report-to', 's3://reports/nightly/', '/backups']);
    await checkCommandLine(['merge', '--json', 'run.json', '--sign', 'k.key', '--history', 'h.sqlite', '--run-id', 'ci-1', 's3://reports/nightly/']);
    await expect(checkCommandLine(['run', '--profile', 'z4j', '--shard', '0/3', '/backups'])).rejects.toThrow(/--shard takes I\/N/);
  });
});
