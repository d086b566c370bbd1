import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandArchives, globToRegExp } from '../../harness/select/expand.ts';
import { selectArchives, type Candidate } from '../../harness/select/select.ts';
import { runPool } from '../../harness/drill/pool.ts';
import type { DrillPlan } from '../../harness/drill/plan.ts';

function candidate(folder: string, name: string, createdAt: string): Candidate {
  // The sha256 stands for the archive's content: history is keyed by it, not by path.
  const plan = { archive: `${folder}/${name}`, manifest: { archive: { createdAt, sha256: `sha-of-${folder}/${name}` } }, profile: { name: 'p' } } as unknown as DrillPlan;
  return { plan, folder };
}

const all = [
  candidate('/a', '1.db', '2026-11-01T00:00:00Z'),
  candidate('/a', '2.db', '2026-11-10T00:00:00Z'),
  candidate('/a', '3.db', '2026-11-20T00:00:00Z'),
  candidate('/b', '1.db', '2026-10-01T00:00:00Z'),
  candidate('/b', '2.db', '2026-11-21T00:00:00Z'),
  candidate('/b', '3.db', '2026-11-15T00:00:00Z'),
];
const names = (cs: Candidate[]) => cs.map((c) => c.plan.archive);
const now = new Date('2026-11-22T00:00:00Z');

describe('archive selection', () => {
  it('--latest N keeps the newest N of each folder, oldest first', () => {
    expect(names(selectArchives(all, { latest: 1 }, { now }))).toEqual(['/a/3.db', '/b/2.db']);
  });

  it('--sample N --seed S picks the same archives every time, and others for another seed', () => {
    const one = names(selectArchives(all, { sample: 2, seed: 7 }, { now }));
    expect(one).toHaveLength(2);
    expect(names(selectArchives([...all].reverse(), { sample: 2, seed: 7 }, { now }))).toEqual(one);
    const seeds = new Set(Array.from({ length: 20 }, (_, s) => names(selectArchives(all, { sample: 2, seed: s }, { now })).join()));
    expect(seeds.size).toBeGreaterThan(3);
  });

  it('--within limits the sample to recent archives', () => {
    const picked = names(selectArchives(all, { sample: 10, seed: 1, withinMs: 8 * 86_400_000 }, { now }));
    expect(picked).toEqual(['/b/3.db', '/a/3.db', '/b/2.db']);
  });

  it('--oldest-undrilled N takes archives with no passed drill, oldest first', () => {
    const passed = new Set(['sha-of-/b/1.db', 'sha-of-/a/2.db']);
    const lastPassed = (_p: string, sha: string) => (passed.has(sha) ? now : undefined);
    expect(names(selectArchives(all, { oldestUndrilled: 2 }, { now, lastPassed }))).toEqual(['/a/1.db', '/b/3.db']);
  });

  it('expands folders (every archive, a manifest-less one included, to be reported unproven) and globs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rd-sel-'));
    for (const f of ['x-1.db', 'x-2.db', 'y.db']) {
      writeFileSync(join(dir, f), '');
      writeFileSync(join(dir, `${f}.manifest.json`), '{}');
    }
    writeFileSync(join(dir, 'stray.db'), '');
    writeFileSync(join(dir, '.hidden'), '');
    writeFileSync(join(dir, 'y.db.secret.env'), 'Z4J_SECRET=x');
    writeFileSync(join(dir, 'y.db.manifest.json.dsse.json'), '{}');
    expect(expandArchives([dir]).map((a) => a.path)).toEqual(['stray.db', 'x-1.db', 'x-2.db', 'y.db'].map((f) => join(dir, f)));
    expect(expandArchives([dir]).every((a) => a.listed)).toBe(true);
    expect(expandArchives([join(dir, 'y.db')])[0]!.listed).toBe(false);
    expect(expandArchives([join(dir, 'x-*.db')]).map((a) => a.path)).toEqual(['x-1.db', 'x-2.db'].map((f) => join(dir, f)));
    expect(() => expandArchives([join(dir, 'z*.db')])).toThrow(/matches no archive/);
    expect(globToRegExp('b[0-9]?.db').test('b12.db')).toBe(true);
    expect(globToRegExp('b[!0-9].db').test('b1.db')).toBe(false);
  });
});

describe('drill pool', () => {
  it('runs at most N at once, keeps input order, and stops starting when told', async () => {
    let running = 0;
    let peak = 0;
    let stop = false;
    const results = await runPool(
      [1, 2, 3, 4, 5, 6],
      2,
      async (n) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 20 * (7 - n)));
        running--;
        if (n === 3) stop = true;
        return `ran ${n}`;
      },
      (n) => (stop ? `skipped ${n}` : undefined),
      (n) => `crashed ${n}`,
    );
    expect(peak).toBe(2);
    expect(results.slice(0, 3)).toEqual(['ran 1', 'ran 2', 'ran 3']);
    expect(results.filter((r) => r.startsWith('skipped')).length).toBeGreaterThan(0);
  });

  it('a task that throws becomes its own result; the others still run to the end and are kept', async () => {
    const finished: number[] = [];
    const results = await runPool(
      [1, 2, 3, 4],
      2,
      async (n) => {
        if (n === 1) throw new Error('history: disk full');
        await new Promise((r) => setTimeout(r, 10));
        finished.push(n);
        return `ran ${n}`;
      },
      () => undefined,
      (n, e) => `crashed ${n}: ${(e as Error).message}`,
    );
    expect(results).toEqual(['crashed 1: history: disk full', 'ran 2', 'ran 3', 'ran 4']);
    expect(finished.sort()).toEqual([2, 3, 4]);
  });
});
