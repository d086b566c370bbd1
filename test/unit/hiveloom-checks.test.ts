import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { decryptProbe } from '../../harness/checks/aes-gcm.ts';
import { checkWal } from '../../harness/checks/sqlite-wal.ts';
import { decryptFailure } from '../../scenarios/hiveloom/facts.ts';
import { parseAgentList, parseDoctor, parseRestore, parseTenantList, parseVersion } from '../../scenarios/hiveloom/parse.ts';

function seal(key: Buffer, text: string): Buffer {
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  const body = Buffer.concat([c.update(text), c.final()]);
  return Buffer.concat([nonce, body, c.getAuthTag()]);
}

describe('AES-256-GCM decrypt probe (nonce 12, ciphertext, tag 16)', () => {
  const key = randomBytes(32);
  const values = ['a', 'bb', 'ccc'].map((t, i) => ({ id: `v${i}`, value: seal(key, t) }));

  it('opens every value sealed with the key', () => {
    expect(decryptProbe(key, values)).toEqual({ total: 3, decrypted: 3, failures: [] });
  });

  it("fails every value under another instance's key, and says the key does not belong to the data", () => {
    const r = decryptProbe(randomBytes(32), values);
    expect(r.decrypted).toBe(0);
    expect(decryptFailure(r)).toMatch(/^3 of 3 credentials fail to decrypt - the key does not belong to this data/);
  });

  it('fails one changed value alone, without blaming the key', () => {
    const changed = [...values];
    const v = Buffer.from(changed[1]!.value);
    v[13] = v[13]! ^ 1;
    changed[1] = { id: 'v1', value: v };
    const r = decryptProbe(key, changed);
    expect(r.failures).toEqual([{ id: 'v1', why: 'authentication' }]);
    expect(decryptFailure(r)).toMatch(/^1 of 3 credentials fail to decrypt - those values were damaged or sealed with another key, the other 2 open/);
  });

  it('reports a value too short to hold nonce and tag, and refuses a key that is not 32 bytes', () => {
    expect(decryptProbe(key, [{ id: 'short', value: Buffer.alloc(20) }]).failures).toEqual([{ id: 'short', why: 'too-short' }]);
    expect(() => decryptProbe(randomBytes(16), values)).toThrow(/16 bytes; AES-256 needs exactly 32/);
  });
});

describe('SQLite main file against its WAL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-wal-'));

  function walDb(name: string): { path: string; db: Database.Database } {
    const path = join(dir, name);
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    db.prepare('INSERT INTO t (v) VALUES (?)').run('x');
    return { path, db };
  }

  it('finds nothing wrong with a pair copied together', () => {
    const { path, db } = walDb('ok.db');
    const r = checkWal(path, `${path}-wal`);
    db.close();
    expect(r.problems).toEqual([]);
    expect(r.committedFrames).toBeGreaterThan(0);
  });

  it('finds the pages a checkpoint between the two copies left in neither file', () => {
    const { path, db } = walDb('race.db');
    db.pragma('wal_checkpoint(TRUNCATE)');
    const before = readFileSync(path);
    const ins = db.prepare('INSERT INTO t (v) VALUES (?)');
    db.transaction(() => {
      for (let i = 0; i < 200; i++) ins.run(randomBytes(300).toString('hex'));
    })();
    db.pragma('wal_checkpoint(RESTART)');
    ins.run('late');
    const wal = readFileSync(`${path}-wal`);
    db.close();
    const main = join(dir, 'race-copy.db');
    writeFileSync(main, before);
    writeFileSync(`${main}-wal`, wal);
    const r = checkWal(main, `${main}-wal`);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatch(/^the WAL's last commit makes the database (\d+) pages, but the main file has 2 and the WAL holds none of \d+ of the pages beyond it \(3, 4, /);
  });

  it('says a WAL with a broken header is ignored, and a cut main file is cut', () => {
    const { path, db } = walDb('hdr.db');
    const wal = readFileSync(`${path}-wal`);
    db.close();
    const main = join(dir, 'hdr-copy.db');
    writeFileSync(main, Buffer.concat([readFileSync(path), Buffer.alloc(100)]));
    wal[20] = wal[20]! ^ 0xff;
    writeFileSync(`${main}-wal`, wal);
    const r = checkWal(main, `${main}-wal`);
    expect(r.problems).toHaveLength(2);
    expect(r.problems).toEqual(expect.arrayContaining([expect.stringMatching(/not a whole number of \d+-byte pages: it was cut short/), expect.stringMatching(/header checksum does not match/)]));
  });

  /** A WAL database with five committed transactions, copied (main + WAL) as a live copy would be. */
  function fiveCommits(name: string): { main: string; wal: Buffer; pageSize: number } {
    const { path, db } = walDb(`${name}-src.db`);
    const ins = db.prepare('INSERT INTO t (v) VALUES (?)');
    for (let i = 0; i < 4; i++) ins.run(`row ${i}`);
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const main = join(dir, `${name}.db`);
    writeFileSync(main, readFileSync(path));
    const wal = readFileSync(`${path}-wal`);
    db.close();
    return { main, wal, pageSize };
  }
  const rowsSeenBySqlite = (main: string): number => {
    const db = new Database(main, { readonly: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n;
    } finally {
      db.close();
    }
  };

  it('reports the frames and commits SQLite drops after a frame with a bad checksum, as SQLite reads it', () => {
    const { main, wal, pageSize } = fiveCommits('badframe');
    const clean = join(dir, 'badframe-clean.db');
    writeFileSync(clean, readFileSync(main));
    writeFileSync(`${clean}-wal`, wal);
    const before = checkWal(clean, `${clean}-wal`);
    expect(before.problems).toEqual([]);
    const frames = before.committedFrames;
    // One bit of the third frame's page content: frames 3.. are dropped by SQLite.
    const damaged = Buffer.from(wal);
    const third = 32 + 2 * (24 + pageSize) + 24 + 100;
    damaged[third] = damaged[third]! ^ 1;
    writeFileSync(`${main}-wal`, damaged);
    const r = checkWal(main, `${main}-wal`);
    expect(r.committedFrames).toBeLessThan(frames);
    expect(r.droppedFrames).toBe(frames - 2);
    expect(r.droppedCommits).toBeGreaterThan(0);
    expect(r.problems).toEqual([expect.stringMatching(new RegExp(`^WAL frame 3 fails its checksum: SQLite stops reading the WAL there and drops ${frames - 2} frames \\(${r.droppedCommits} committed transactions\\) - the changes in them are lost`))]);
    // SQLite itself sees fewer rows than the clean copy: the model above is SQLite's.
    expect(rowsSeenBySqlite(main)).toBeLessThan(rowsSeenBySqlite(clean));
  });

  it('reads a main file whose page 1 is damaged as SQLite does when the WAL holds a valid page 1', () => {
    const { main, wal } = fiveCommits('page1');
    const m = readFileSync(main);
    m.fill(0x41, 0, 100);
    writeFileSync(main, m);
    writeFileSync(`${main}-wal`, wal);
    const r = checkWal(main, `${main}-wal`);
    expect(r.page1FromWal).toBe(true);
    expect(r.problems).toEqual([]);
    expect(rowsSeenBySqlite(main)).toBe(5);
    // Without the WAL the same main file is unreadable, and said so.
    const alone = join(dir, 'page1-alone.db');
    writeFileSync(alone, m);
    expect(checkWal(alone, undefined).problems).toEqual(['the main file has no valid SQLite header']);
  });

  it('says an empty main file loses its WAL (SQLite deletes it on open)', () => {
    const { main, wal } = fiveCommits('empty');
    writeFileSync(main, Buffer.alloc(0));
    writeFileSync(`${main}-wal`, wal);
    expect(checkWal(main, `${main}-wal`).problems).toEqual([expect.stringMatching(/^the main file is empty: SQLite deletes the WAL beside it/)]);
  });
});

describe("parsing Hiveloom's output (anything unparsed is undefined, never a pass)", () => {
  it('reads doctor --json and refuses text or an empty list', () => {
    expect(parseDoctor('[{"check":"master.key present","pass":false,"detail":"Missing"}]')).toEqual([{ check: 'master.key present', pass: false, detail: 'Missing' }]);
    expect(parseDoctor('  [PASS] Data directory exists: /var/lib/hiveloom')).toBeUndefined();
    expect(parseDoctor('[]')).toBeUndefined();
  });

  it('reads tenant and agent lists, restore results and the version', () => {
    expect(parseTenantList('[{"id":"u1","name":"A","slug":"a","status":"active"}]')?.map((t) => t.slug)).toEqual(['a']);
    expect(parseTenantList('Error: API request failed')).toBeUndefined();
    expect(parseAgentList('[{"id":"x","name":"n"},{"id":"y","name":"m"}]')).toHaveLength(2);
    expect(parseRestore('{"status":"restored","input":"/x","scope":"tenant","tenant":"acme"}')).toMatchObject({ status: 'restored', scope: 'tenant', tenant: 'acme' });
    expect(parseVersion('hiveloom 0.2.0\n')).toBe('0.2.0');
    expect(parseVersion('hiveloom-cli 0.2.0')).toBeUndefined();
  });
});
