import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { fingerprintTable, tableColumns } from '../../harness/checks/sqlite-db.ts';

describe("a table's fingerprint across a schema upgrade", () => {
  function db(): Database.Database {
    const d = new Database(':memory:');
    d.exec("CREATE TABLE projects (id TEXT PRIMARY KEY, name TEXT); INSERT INTO projects VALUES ('p1', 'one'), ('p2', 'two');");
    return d;
  }

  it("is unchanged over the backup's columns when a migration only adds a column", () => {
    const d = db();
    const before = fingerprintTable(d, 'projects');
    const cols = tableColumns(d, ['projects']).projects!;
    d.exec('ALTER TABLE projects ADD COLUMN automation_revision INTEGER DEFAULT 0');
    expect(fingerprintTable(d, 'projects')).not.toBe(before);
    expect(fingerprintTable(d, 'projects', undefined, cols)).toBe(before);
  });

  it('still finds a changed value, and says when a column the backup had is gone', () => {
    const d = db();
    const before = fingerprintTable(d, 'projects');
    const cols = tableColumns(d, ['projects']).projects!;
    d.exec("ALTER TABLE projects ADD COLUMN x INTEGER; UPDATE projects SET name = 'uno' WHERE id = 'p1'");
    expect(fingerprintTable(d, 'projects', undefined, cols)).not.toBe(before);
    d.exec('ALTER TABLE projects DROP COLUMN name');
    expect(() => fingerprintTable(d, 'projects', undefined, cols)).toThrow(/no longer has column\(s\) name: their content is gone/);
  });
});

describe("a table's fingerprint stays what earlier captures recorded", () => {
  /** The definition manifests were recorded with: sha256 over each row's JSON array and a newline, in primary-key order (a blob as Buffer's toJSON gives it). */
  function reference(d: Database.Database, table: string, order: string): string {
    const h = createHash('sha256');
    for (const row of d.prepare(`SELECT * FROM ${table} ORDER BY ${order}`).raw(true).iterate() as Iterable<unknown[]>) {
      h.update(JSON.stringify(row));
      h.update('\n');
    }
    return h.digest('hex');
  }

  it('on real z4j rows (digests recorded before the chunked hashing)', () => {
    const fixtures = join(import.meta.dirname, 'fixtures');
    for (const [version, auditLog, chainState] of [
      ['1.13.0', '22e4e8c6082ba35d5089419f3d4bf2c18a695292636b5d1539778a613ba37459', '2b96be73fb8b6e7f1287949fce1910b15ca9285e4f337d85fa7f180c6b171f9f'],
      ['1.8.0', '0afc0e14b02a275daf0d83c7cc18693b76770d97262ba26a72af46fe9b6b06cc', 'b493d462c91fc50ff0f6e440badbf4f16a53d0a74a990fcb17510824c3eb40c5'],
    ] as const) {
      const d = new Database(join(fixtures, `z4j-audit-${version}.db`), { readonly: true });
      expect([fingerprintTable(d, 'audit_log'), fingerprintTable(d, 'audit_chain_state')]).toEqual([auditLog, chainState]);
      d.close();
    }
  });

  it('on rows with blobs, NULLs, floats, text needing escapes, and more rows than one hashing chunk', () => {
    const d = new Database(':memory:');
    d.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, a TEXT, b BLOB, c REAL)');
    const ins = d.prepare('INSERT INTO t VALUES (?, ?, ?, ?)');
    for (let i = 0; i < 3000; i++) ins.run(i, i % 7 === 0 ? null : `row "${i}" \\ ü\n${'x'.repeat(i % 50)}`, i % 5 === 0 ? Buffer.from([i & 255, 0, 1]) : null, i / 3);
    expect(fingerprintTable(d, 't')).toBe(reference(d, 't', 'k'));
    expect(fingerprintTable(d, 't')).toBe('f23d86c25dfc3bd33afe9d69fb01f7f9613150a78b85fdc7cdb4f4cd733c01f7'); // made by the code before this change
  });
});
