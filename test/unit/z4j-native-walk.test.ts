import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { stitchSegments } from '../../harness/checks/hmac-chain.ts';
import { chainKey, readChainState, type SliceEnds } from '../../scenarios/z4j/audit-chain.ts';
import { nativeWalker, walkNativeSync, type NativeSlice } from '../../scenarios/z4j/chain-walk/native.ts';
import { auditLayout, walkPages } from '../../scenarios/z4j/chain-walk/page-walk.ts';
import { walkInParallel } from '../../scenarios/z4j/chain-walk/parallel.ts';
import { walkZ4jChain } from '../../scenarios/z4j/sqlite-facts.ts';
import { growChain } from '../../scenarios/z4j/sample/grow-chain.ts';
import { appendAwkward, AWKWARD } from './fixtures/z4j-awkward.ts';

// Real z4j audit rows (seed.py through z4j's own audit service), 1.8.0 and 1.13.0.
const fixtures = join(import.meta.dirname, 'fixtures');
const { secrets } = JSON.parse(readFileSync(join(fixtures, 'z4j-audit.json'), 'utf8')) as { secrets: Record<string, string> };
const SECRET = secrets['1.13.0']!;
const dir = mkdtempSync(join(tmpdir(), 'rd-native-walk-'));

// The native walk is built by scripts/ensure-deps.sh (npm test runs it). Missing, these tests fail
// rather than pass on the JavaScript walk alone, unless told outright that it is not built here.
const skip = process.env.RESTORE_DRILL_NATIVE_WALK === '0';
if (skip) console.warn('z4j-native-walk: skipped, RESTORE_DRILL_NATIVE_WALK=0 says the native walk is not used here');
let bin = '';
beforeAll(() => {
  if (skip) return;
  const found = nativeWalker();
  if (!found) throw new Error('the native chain walk is not built (or older than its sources): run `sh scripts/ensure-deps.sh`, or set RESTORE_DRILL_NATIVE_WALK=0 to skip');
  bin = found;
});

function copy(name: string, source = join(fixtures, 'z4j-audit-1.13.0.db')): string {
  const path = join(dir, `${name}-${randomBytes(4).toString('hex')}.db`);
  copyFileSync(source, path);
  return path;
}

function withDb<T>(path: string, f: (db: Database.Database) => T, readonly = true): T {
  const db = new Database(path, { readonly });
  try {
    return f(db);
  } finally {
    db.close();
  }
}

/** The native walk alone, on the given slices. */
function native(path: string, secret = SECRET, slices = [{}]): NativeSlice[] {
  return withDb(path, (db) => walkNativeSync(bin, path, auditLayout(db)!, readChainState(db)!.generation, [chainKey(secret)], slices));
}

/** The JavaScript page walk (the reference), with the ends it saw. */
function jsWalk(path: string, secret = SECRET, slice = {}) {
  const ends: SliceEnds = {};
  const obs = withDb(path, (db) => walkPages(path, auditLayout(db)!, readChainState(db)!.generation, [chainKey(secret)], slice, ends));
  return { obs, ends };
}

/** The whole walk as a drill runs it, with the native walk on or off. */
function drillWalk(path: string, nativeOn: boolean, secret = SECRET) {
  const before = process.env.RESTORE_DRILL_NATIVE_WALK;
  process.env.RESTORE_DRILL_NATIVE_WALK = nativeOn ? '1' : '0';
  try {
    return withDb(path, (db) => walkZ4jChain(db, secret));
  } finally {
    if (before === undefined) delete process.env.RESTORE_DRILL_NATIVE_WALK;
    else process.env.RESTORE_DRILL_NATIVE_WALK = before;
  }
}

/** z4j's guards on audit_log out of the way (a damaged or tampered backup need not obey them). */
function unguard(db: Database.Database): void {
  db.function('z4j_audit_guard', { varargs: true }, () => 1);
  for (const t of db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'").pluck().all() as string[]) db.exec(`DROP TRIGGER "${t}"`);
}

/** Changes audit_log in place, z4j's guards out of the way (a damaged or tampered backup need not obey them). */
function tamper(path: string, sql: string, ...params: unknown[]): void {
  withDb(
    path,
    (db) => {
      unguard(db);
      db.pragma('ignore_check_constraints = ON');
      expect(db.prepare(sql).run(...params).changes).toBeGreaterThan(0);
    },
    false,
  );
}

/** The id (hex, as stored) of the chain row at a position. */
function rowAt(path: string, position: number): string {
  return withDb(path, (db) =>
    db.prepare('SELECT id FROM audit_log WHERE legacy_frozen = 0 AND chain_generation = ? ORDER BY occurred_at, id LIMIT 1 OFFSET ?').pluck().get(readChainState(db)!.generation, position) as string,
  );
}

describe.skipIf(skip)('the native chain walk', () => {
  for (const version of Object.keys(secrets)) {
    it(`finds real z4j ${version} rows clean, with the JavaScript walk's observation and ends`, () => {
      const path = join(fixtures, `z4j-audit-${version}.db`);
      const js = jsWalk(path, secrets[version]!);
      expect(js.obs).toMatchObject({ length: 40, verifiedRows: 40, problemCount: 0 });
      expect(native(path, secrets[version]!)).toEqual([{ status: 'clean', obs: js.obs, ends: js.ends }]);
    });
  }

  it('builds the same messages for awkward rows it models (escapes, non-ASCII, floats, big integers, odd uuids, overflow pages)', () => {
    // AWKWARD ends with timestamps outside z4j's stored form: the native walk leaves those to JavaScript.
    const modelled = AWKWARD.filter((r) => r.occurred_at === undefined);
    expect(modelled.length).toBeGreaterThanOrEqual(8);
    const path = copy('awkward');
    appendAwkward(path, SECRET, modelled);
    const js = jsWalk(path);
    expect(js.obs).toMatchObject({ length: 40 + modelled.length, verifiedRows: 40 + modelled.length, problemCount: 0 });
    expect(native(path)).toEqual([{ status: 'clean', obs: js.obs, ends: js.ends }]);
  });

  it('leaves rows it does not model to the JavaScript walk, which then decides', () => {
    const path = copy('odd-timestamps');
    appendAwkward(path, SECRET, AWKWARD);
    const [n] = native(path);
    expect(n).toMatchObject({ status: 'other', why: expect.stringMatching(/timestamp/) });
    expect(drillWalk(path, true)).toEqual(drillWalk(path, false));
    expect(drillWalk(path, true)).toMatchObject({ length: 40 + AWKWARD.length, verifiedRows: 40 + AWKWARD.length, problemCount: 0 });
  });

  // Every value the signed message or the links depend on, changed on one row in the middle of the chain:
  // the native walk must never call the chain clean, and the drill's walk must report what JavaScript reports.
  const CHANGES: Array<[string, string]> = [
    ['action', "action = action || 'x'"],
    ['action, to bytes that are not UTF-8', "action = CAST(x'ff' || CAST(action AS BLOB) AS TEXT)"],
    ['api_key_id', "api_key_id = '0123456789abcdef0123456789abcdef'"],
    ['event_id', "event_id = '0123456789abcdef0123456789abcdef'"],
    ['hmac_key_id (another key named)', "hmac_key_id = 'another-key'"],
    ['id', "id = '0123456789abcdef0123456789abcdef'"],
    ['metadata', `metadata = '{"changed": true}'`],
    ['occurred_at (order kept)', "occurred_at = substr(occurred_at, 1, 25) || CASE substr(occurred_at, 26, 1) WHEN '9' THEN '8' ELSE '9' END"],
    ['outcome', "outcome = 'deny'"],
    ['prev_row_hmac', "prev_row_hmac = '00' || substr(prev_row_hmac, 3)"],
    ['project_id', "project_id = '0123456789abcdef0123456789abcdef'"],
    ['result', "result = 'failure'"],
    ['source_ip', "source_ip = '10.9.9.9'"],
    ['target_id', "target_id = 'other'"],
    ['target_type', "target_type = target_type || 'x'"],
    ['user_agent', "user_agent = 'curl/8'"],
    ['user_id', "user_id = '0123456789abcdef0123456789abcdef'"],
    ['hmac_version', 'hmac_version = 3'],
    ['row_hmac', "row_hmac = '00' || substr(row_hmac, 3)"],
    ['row_hmac in upper case', 'row_hmac = upper(row_hmac)'],
    ['legacy_frozen (row dropped from the chain)', 'legacy_frozen = 1'],
    ['chain_generation (row dropped from the chain)', "chain_generation = '0123456789abcdef0123456789abcdef'"],
  ];
  for (const [what, set] of CHANGES) {
    it(`never finds the chain clean when a row's ${what} changed`, () => {
      const path = copy('changed');
      tamper(path, `UPDATE audit_log SET ${set} WHERE id = ?`, rowAt(path, 20));
      const [n] = native(path);
      expect(n!.status).not.toBe('clean');
      const walked = drillWalk(path, true);
      expect(walked).toEqual(drillWalk(path, false));
      expect(walked!.problemCount).toBeGreaterThan(0);
    });
  }

  it('never finds the chain clean when a row is deleted, or under another key', () => {
    const path = copy('deleted');
    tamper(path, 'DELETE FROM audit_log WHERE id = ?', rowAt(path, 20));
    expect(native(path)[0]!.status).not.toBe('clean');
    expect(drillWalk(path, true)).toEqual(drillWalk(path, false));
    const clean = join(fixtures, 'z4j-audit-1.13.0.db');
    expect(native(clean, `${SECRET}x`)[0]!.status).not.toBe('clean');
    expect(native(clean, secrets['1.8.0'])[0]!.status).not.toBe('clean');
  });

  it('says disorder for rows stored out of chain order, and the drill walks them in chain order', () => {
    const path = copy('moved');
    withDb(
      path,
      (db) => {
        unguard(db);
        // The row at position 10 moved to the end of the table (a new rowid): chain order no longer follows rowid order.
        const id = db.prepare('SELECT id FROM audit_log WHERE legacy_frozen = 0 ORDER BY occurred_at, id LIMIT 1 OFFSET 10').pluck().get() as string;
        const row = db.prepare('SELECT * FROM audit_log WHERE id = ?').get(id) as Record<string, unknown>;
        db.prepare('DELETE FROM audit_log WHERE id = ?').run(id);
        const cols = Object.keys(row).filter((c) => c !== 'rowid');
        db.prepare(`INSERT INTO audit_log (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`).run(row);
      },
      false,
    );
    expect(native(path)).toEqual([{ status: 'disorder' }]);
    expect(drillWalk(path, true)).toEqual(drillWalk(path, false));
    expect(drillWalk(path, true)).toMatchObject({ length: 40, verifiedRows: 40, problemCount: 0 });
  });

  it('says disorder for rows sharing a timestamp whose ids run backwards in storage order, signed and linked in that order', () => {
    const path = copy('tie');
    const at = '2030-05-05 05:05:05.000005';
    // Each row is validly signed and links to the row stored before it; only the chain order (occurred_at, then id) says otherwise.
    appendAwkward(path, SECRET, [{ occurred_at: at, id: 'f'.repeat(32) }, { occurred_at: at, id: 'e'.repeat(32) }]);
    expect(native(path)).toEqual([{ status: 'disorder' }]);
    const walked = drillWalk(path, true);
    expect(walked).toEqual(drillWalk(path, false));
    expect(walked!.problemCount).toBeGreaterThan(0);
  });

  it('skips frozen rows and other generations as the SQL filter does', () => {
    const path = copy('filtered');
    appendAwkward(path, SECRET, [{}, {}], (db) => {
      const generation = readChainState(db)!.generation;
      db.pragma('ignore_check_constraints = ON');
      const insert = db.prepare(
        `INSERT INTO audit_log (id, action, target_type, result, metadata, occurred_at, legacy_frozen, hmac_version, hmac_key_id, row_hmac, chain_generation)
         VALUES (?, 'other', 'x', 'success', '{}', ?, ?, 2, 'k', 'h', ?)`,
      );
      insert.run(randomBytes(16).toString('hex'), '2031-01-02 00:00:00.000000', 0, randomBytes(16).toString('hex')); // another generation
      insert.run(randomBytes(16).toString('hex'), '2031-01-03 00:00:00.000000', 1, generation); // frozen, with the active generation
      insert.run(randomBytes(16).toString('hex'), '2031-01-04 00:00:00.000000', 0, null); // no generation
    });
    appendAwkward(path, SECRET, [{ occurred_at: '2032-01-01 00:00:00.000000' }]);
    const js = jsWalk(path);
    expect(js.obs).toMatchObject({ length: 43, verifiedRows: 43, problemCount: 0 });
    expect(native(path)).toEqual([{ status: 'clean', obs: js.obs, ends: js.ends }]);
  });

  it('walks rowid slices on threads that stitch to the whole, over many pages', () => {
    const path = join(dir, 'grown.db');
    growChain(join(fixtures, 'z4j-audit-1.13.0.db'), path, SECRET, 12_000);
    const whole = jsWalk(path);
    const cuts = [{ hi: 3000 }, { lo: 3000, hi: 7001 }, { lo: 7001 }];
    const parts = native(path, SECRET, cuts);
    expect(parts.map((p) => p.status)).toEqual(['clean', 'clean', 'clean']);
    const obs = parts.map((p) => (p.status === 'clean' ? p.obs : undefined)!);
    cuts.forEach((c, k) => expect(parts[k]).toEqual({ status: 'clean', ...jsWalk(path, SECRET, c) }));
    expect(stitchSegments('audit_log', obs)).toEqual(stitchSegments('audit_log', [whole.obs]));
    expect(whole.obs).toMatchObject({ length: 12_000, verifiedRows: 12_000 });
  }, 60_000);

  it('gives the parallel walk the result of the JavaScript workers, clean or tampered', async () => {
    const path = join(dir, 'grown-tampered.db');
    growChain(join(fixtures, 'z4j-audit-1.13.0.db'), path, SECRET, 12_000);
    const run = (on: boolean) => {
      process.env.RESTORE_DRILL_NATIVE_WALK = on ? '1' : '0';
      return withDb(path, (db) => walkInParallel(db, path, readChainState(db)!.generation, 12_000, SECRET, 2)).finally(() => delete process.env.RESTORE_DRILL_NATIVE_WALK);
    };
    const clean = await run(true);
    expect(clean).toEqual(await run(false));
    expect(clean).toMatchObject({ length: 12_000, verifiedRows: 12_000, problemCount: 0 });
    tamper(path, "UPDATE audit_log SET target_id = 'x' WHERE id = ?", rowAt(path, 9000));
    const tampered = await run(true);
    expect(tampered).toEqual(await run(false));
    expect(tampered.problems).toEqual([expect.objectContaining({ kind: 'hmac-mismatch', position: 9000 })]);
  }, 120_000);

  it('takes the key on standard input only, and never prints it', () => {
    const path = join(fixtures, 'z4j-audit-1.13.0.db');
    const src = readFileSync(join(import.meta.dirname, '../../scenarios/z4j/chain-walk/native.ts'), 'utf8');
    // Both ways of starting it pass no arguments and no environment of their own.
    expect(src.match(/spawn(?:Sync)?\(bin, \[\], \{[^}]*\}/g)?.length).toBe(2);
    expect(src).not.toMatch(/env:/);
    const out = JSON.stringify(native(path));
    expect(out).not.toContain(Buffer.from(SECRET).toString('hex'));
    expect(out).not.toContain(SECRET);
  });
});
