import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { walkChain } from '../../harness/checks/hmac-chain.ts';
import type { ChainObservation } from '../../harness/model/types.ts';
import { ChainOrderError, chainKey, chainRows, chainRowsInRowidOrder, readChainState } from '../../scenarios/z4j/audit-chain.ts';
import { walkZ4jChain, walkZ4jChainFast } from '../../scenarios/z4j/sqlite-facts.ts';
import { growChain } from '../../scenarios/z4j/sample/grow-chain.ts';

// Real z4j audit rows (seed.py through z4j's own audit service), 1.8.0 and 1.13.0.
const fixtures = join(import.meta.dirname, 'fixtures');
const { secrets } = JSON.parse(readFileSync(join(fixtures, 'z4j-audit.json'), 'utf8')) as { secrets: Record<string, string> };
const dir = mkdtempSync(join(tmpdir(), 'rd-chain-order-'));

/** A copy of a fixture with the chain's `position`-th row moved to the end of the table (same values, a new rowid). */
function moved(version: string, position: number, source = join(fixtures, `z4j-audit-${version}.db`)): string {
  const path = join(dir, `moved-${version}-${position}-${Math.random().toString(36).slice(2)}.db`);
  copyFileSync(source, path);
  const db = new Database(path);
  const gen = readChainState(db)!.generation;
  const id = (db.prepare('SELECT id FROM audit_log WHERE legacy_frozen = 0 AND chain_generation = ? ORDER BY occurred_at, id LIMIT 1 OFFSET ?').get(gen, position) as { id: string }).id;
  const row = db.prepare('SELECT * FROM audit_log WHERE id = ?').get(id) as Record<string, unknown>;
  db.prepare('DELETE FROM audit_log WHERE id = ?').run(id);
  const cols = Object.keys(row);
  db.prepare(`INSERT INTO audit_log (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`).run(row);
  db.close();
  return path;
}

describe("the chain walk's storage-order fast path", () => {
  for (const version of Object.keys(secrets)) {
    it(`verifies every real z4j ${version} row, reading in rowid order`, () => {
      const db = new Database(join(fixtures, `z4j-audit-${version}.db`), { readonly: true });
      const gen = readChainState(db)!.generation;
      const fast = walkChain(chainRowsInRowidOrder(db, gen), { table: 'audit_log', keys: [chainKey(secrets[version]!)] });
      const ordered = walkChain(chainRows(db, gen), { table: 'audit_log', keys: [chainKey(secrets[version]!)] });
      expect(fast).toEqual(ordered);
      expect(fast).toMatchObject({ length: 40, verifiedRows: 40, problemCount: 0 });
      db.close();
    });
  }

  it('falls back to the ordered query when rows are not stored in chain order, with the same result', () => {
    const path = moved('1.13.0', 10);
    const db = new Database(path, { readonly: true });
    const gen = readChainState(db)!.generation;
    expect(() => [...chainRowsInRowidOrder(db, gen)]).toThrow(ChainOrderError);
    const obs = walkZ4jChain(db, secrets['1.13.0']);
    expect(obs).toEqual(walkChain(chainRows(db, gen), { table: 'audit_log', keys: [chainKey(secrets['1.13.0']!)] }));
    expect(obs).toMatchObject({ length: 40, verifiedRows: 40, problemCount: 0 });
    db.close();
  });

  it('walks a long chain on two threads by rowid slices, and falls back by key when a row is stored out of order', async () => {
    const grown = join(dir, 'grown.db');
    growChain(join(fixtures, 'z4j-audit-1.13.0.db'), grown, secrets['1.13.0']!, 60_000);
    const db = new Database(grown, { readonly: true });
    const one = walkZ4jChain(db, secrets['1.13.0']);
    expect(one).toMatchObject({ length: 60_000, verifiedRows: 60_000, problemCount: 0 });
    expect(summary((await walkZ4jChainFast(db, grown, secrets['1.13.0']!, 2))!)).toEqual(summary(one!));
    db.close();
    // The chain's first row moved to the end of the table: the second slice then holds it, and the join is out of order.
    const shuffled = moved('1.13.0', 0, grown);
    const sdb = new Database(shuffled, { readonly: true });
    const single = walkZ4jChain(sdb, secrets['1.13.0'])!;
    expect(single).toMatchObject({ length: 60_000, verifiedRows: 60_000, problemCount: 0 });
    const two = (await walkZ4jChainFast(sdb, shuffled, secrets['1.13.0']!, 2))!;
    expect(summary(two)).toEqual(summary(single));
    sdb.close();
  }, 120_000);
});

/** What a walk concludes, without where each slice started. */
function summary(o: ChainObservation): Pick<ChainObservation, 'length' | 'verifiedRows' | 'problemCount' | 'headHmac' | 'firstPrevHmac'> {
  return { length: o.length, verifiedRows: o.verifiedRows, problemCount: o.problemCount, headHmac: o.headHmac, firstPrevHmac: o.firstPrevHmac };
}
