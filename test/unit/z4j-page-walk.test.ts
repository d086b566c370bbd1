import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createHmac, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { stitchSegments, walkChain } from '../../harness/checks/hmac-chain.ts';
import { SqlitePages, UnsupportedFile, type PageCache } from '../../harness/checks/sqlite-pages.ts';
import { chainKey, chainRowsInRowidOrder, readChainState, rowMessage, type AuditRow } from '../../scenarios/z4j/audit-chain.ts';
import { auditLayout, walkPages, walkRowidSlice } from '../../scenarios/z4j/chain-walk/page-walk.ts';
import { walkZ4jChain } from '../../scenarios/z4j/sqlite-facts.ts';
import { growChain } from '../../scenarios/z4j/sample/grow-chain.ts';
import { appendAwkward, AWKWARD } from './fixtures/z4j-awkward.ts';

// Real z4j audit rows (seed.py through z4j's own audit service), 1.8.0 and 1.13.0.
const fixtures = join(import.meta.dirname, 'fixtures');
const { secrets } = JSON.parse(readFileSync(join(fixtures, 'z4j-audit.json'), 'utf8')) as { secrets: Record<string, string> };
const SECRET = secrets['1.13.0']!;
const dir = mkdtempSync(join(tmpdir(), 'rd-page-walk-'));

/** The walk through SQLite (the reference the page reader must match exactly). */
function sqliteWalk(path: string, secret: string) {
  const db = new Database(path, { readonly: true });
  try {
    return walkChain(chainRowsInRowidOrder(db, readChainState(db)!.generation), { table: 'audit_log', keys: [chainKey(secret)] });
  } finally {
    db.close();
  }
}

/** The page reader alone (no fall-back to SQLite: a refusal throws). */
function pageWalk(path: string, secret: string, slice = {}, cache?: PageCache) {
  const db = new Database(path, { readonly: true });
  try {
    return walkPages(path, auditLayout(db)!, readChainState(db)!.generation, [chainKey(secret)], slice, {}, cache);
  } finally {
    db.close();
  }
}

function copy(name: string, source = join(fixtures, 'z4j-audit-1.13.0.db')): string {
  const path = join(dir, `${name}-${randomBytes(4).toString('hex')}.db`);
  copyFileSync(source, path);
  return path;
}

describe('the chain walk read straight from the pages', () => {
  for (const version of Object.keys(secrets)) {
    it(`equals the SQLite walk on real z4j ${version} rows`, () => {
      const path = join(fixtures, `z4j-audit-${version}.db`);
      const pages = pageWalk(path, secrets[version]!);
      expect(pages).toEqual(sqliteWalk(path, secrets[version]!));
      expect(pages).toMatchObject({ length: 40, verifiedRows: 40, problemCount: 0 });
    });
  }

  it('signs exactly what the SQLite reader signs for awkward rows (escapes, non-ASCII, odd uuids and timestamps, overflow pages)', () => {
    const path = copy('awkward');
    appendAwkward(path, SECRET, AWKWARD);
    const pages = pageWalk(path, SECRET);
    expect(pages).toEqual(sqliteWalk(path, SECRET));
    expect(pages).toMatchObject({ length: 40 + AWKWARD.length, verifiedRows: 40 + AWKWARD.length, problemCount: 0 });
  });

  it('reads the same when every page read recycles the buffer of the one before (interior pages and overflow rows kept apart)', () => {
    const path = copy('tiny-cache');
    appendAwkward(path, SECRET, AWKWARD);
    const expected = sqliteWalk(path, SECRET);
    expect(pageWalk(path, SECRET, {}, { chunkPages: 1, chunksKept: 1 })).toEqual(expected);
    expect(pageWalk(path, SECRET, {}, { chunkPages: 2, chunksKept: 2 })).toEqual(expected);
  });

  it('walks a chain spread over many more chunks than it keeps, itself (no fall-back)', () => {
    const path = join(dir, 'grown.db');
    growChain(join(fixtures, 'z4j-audit-1.13.0.db'), path, SECRET, 12_000);
    const pages = pageWalk(path, SECRET);
    expect(pages).toEqual(sqliteWalk(path, SECRET));
    expect(pages).toMatchObject({ length: 12_000, verifiedRows: 12_000, problemCount: 0 });
  }, 60_000);

  it('skips frozen rows and other generations as the SQL filter does', () => {
    const path = copy('filtered');
    appendAwkward(path, SECRET, [{}, {}], (db) => {
      db.prepare(
        `INSERT INTO audit_log (id, action, target_type, result, metadata, occurred_at, legacy_frozen, legacy_origin, legacy_integrity_class)
         VALUES (?, 'old', 'x', 'success', '{}', '2031-01-01 00:00:00.000000', 1, 'audit-log:preparation-v1', 'legacy-unsigned')`,
      ).run(randomBytes(16).toString('hex'));
      db.prepare(
        `INSERT INTO audit_log (id, action, target_type, result, metadata, occurred_at, legacy_frozen, hmac_version, hmac_key_id, row_hmac, chain_generation)
         VALUES (?, 'other', 'x', 'success', '{}', '2031-01-02 00:00:00.000000', 0, 2, 'k', 'h', ?)`,
      ).run(randomBytes(16).toString('hex'), randomBytes(16).toString('hex'));
      // A frozen row carrying the active generation (z4j's CHECK forbids it; a damaged file need not obey): still not in the chain.
      db.pragma('ignore_check_constraints = ON');
      db.prepare(
        `INSERT INTO audit_log (id, action, target_type, result, metadata, occurred_at, legacy_frozen, hmac_version, hmac_key_id, row_hmac, chain_generation)
         VALUES (?, 'frozen', 'x', 'success', '{}', '2031-01-03 00:00:00.000000', 1, 2, 'k', 'h', ?)`,
      ).run(randomBytes(16).toString('hex'), readChainState(db)!.generation);
    });
    appendAwkward(path, SECRET, [{ occurred_at: '2032-01-01 00:00:00.000000' }]);
    const pages = pageWalk(path, SECRET);
    expect(pages).toEqual(sqliteWalk(path, SECRET));
    expect(pages).toMatchObject({ length: 43, verifiedRows: 43, problemCount: 0 });
  });

  it('finds a byte changed in the file where the SQLite walk finds it', () => {
    const path = copy('tampered');
    appendAwkward(path, SECRET, [{ target_id: 'tamper-me-here' }, {}]);
    const bytes = readFileSync(path);
    const at = bytes.indexOf('tamper-me-here');
    expect(at).toBeGreaterThan(0);
    bytes[at] = 'T'.charCodeAt(0);
    writeFileSync(path, bytes);
    const pages = pageWalk(path, SECRET);
    expect(pages).toEqual(sqliteWalk(path, SECRET));
    expect(pages.problems).toEqual([expect.objectContaining({ kind: 'hmac-mismatch', position: 40 })]);
  });

  it('walks rowid slices that stitch to the whole walk', () => {
    const path = copy('sliced');
    appendAwkward(path, SECRET, AWKWARD);
    const cut = 25;
    expect(stitchSegments('audit_log', [pageWalk(path, SECRET, { hi: cut }), pageWalk(path, SECRET, { lo: cut })])).toEqual(
      stitchSegments('audit_log', [sqliteWalk(path, SECRET)]),
    );
  });

  it('refuses a page whose cell count runs past it, and the walk then ends as the SQLite reader does', () => {
    const path = copy('damaged-count');
    const db = new Database(path, { readonly: true });
    const root = (db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'audit_log'").get() as { rootpage: number }).rootpage;
    db.close();
    const bytes = readFileSync(path);
    bytes.writeUInt16BE(0xffff, (root - 1) * 4096 + 3);
    writeFileSync(path, bytes);
    expect(() => pageWalk(path, SECRET)).toThrow(/claims more cells than fit/);
    const r = new Database(path, { readonly: true });
    const outcome = (f: () => unknown) => {
      try {
        return { value: f() };
      } catch (e) {
        return { error: String(e) };
      }
    };
    expect(outcome(() => walkZ4jChain(r, SECRET))).toEqual(outcome(() => sqliteWalk(path, SECRET)));
    r.close();
  });

  it('refuses files it does not model, and the walk then reads through SQLite with the same result', () => {
    const wal = copy('wal');
    new Database(wal).pragma('journal_mode = WAL');
    const added = copy('added-column');
    const db = new Database(added);
    db.exec('ALTER TABLE audit_log ADD COLUMN later TEXT'); // older rows now store fewer columns than the table has
    db.close();
    const journal = copy('journal');
    writeFileSync(`${journal}-journal`, 'not empty');
    for (const path of [wal, added]) {
      expect(() => pageWalk(path, SECRET)).toThrow(UnsupportedFile);
      const r = new Database(path, { readonly: true });
      expect(walkZ4jChain(r, SECRET)).toEqual(sqliteWalk(path, SECRET));
      expect(walkRowidSlice(r, readChainState(r)!.generation, [chainKey(SECRET)])).toMatchObject({ length: 40, verifiedRows: 40 });
      r.close();
    }
    expect(() => new SqlitePages(journal)).toThrow(/journal file lies beside/);
  });
});
