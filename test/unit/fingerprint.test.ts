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
