import { describe, expect, it } from 'vitest';
import { parseAuditVerify, parseCheck, parseMigrateCurrent, parseStatus } from '../../scenarios/z4j/parse.ts';

// Texts as z4j 1.13.0 prints them (captured from the real CLI in a container).
const CHECK = `2026-11-22 01:47:14 [info     ] z4j database engine disposed
  config                          OK
  environment                     dev  -  dev (loopback-only, relaxed cookies, no HSTS)
  database connectivity           OK
  alembic version                 at v1_12_auditor_role
z4j check: all green.
`;
const STATUS = `z4j status
  version             1.13.0
  alembic revision    v1_12_auditor_role
  environment         dev  (loopback-only, relaxed cookies, no HSTS)
  database            sqlite+aiosqlite:////var/lib/z4j/z4j.db

  row counts:
    users                    4
    projects                 3
    agents                   6
    tasks                   30
    sessions                 4
    audit rows          12,301
`;

describe('z4j output parsers', () => {
  it('reads z4j check, and notices a missing alembic revision behind "all green"', () => {
    expect(parseCheck(CHECK)).toMatchObject({ allGreen: true, revision: 'v1_12_auditor_role' });
    const noRev = CHECK.replace('at v1_12_auditor_role', 'not present ((sqlite3.OperationalError) no such table: alembic_version');
    const parsed = parseCheck(noRev)!;
    expect(parsed.allGreen).toBe(true);
    expect(parsed.revision).toBeUndefined();
  });

  it('reads z4j status counts with thousands separators', () => {
    expect(parseStatus(STATUS)).toEqual({
      version: '1.13.0',
      revision: 'v1_12_auditor_role',
      counts: { users: 4, projects: 3, agents: 6, tasks: 30, sessions: 4, 'audit rows': 12301 },
    });
    expect(parseStatus('something else')).toBeUndefined();
  });

  it('reads z4j audit verify', () => {
    expect(parseAuditVerify('verified active: 301\ncanonical frozen rows assessed in aggregate: 0\n')).toEqual({ verified: 301, problems: [] });
    expect(parseAuditVerify('z4j audit verify: failed to load settings: ValidationError')).toBeUndefined();
  });

  it('reads z4j migrate current --check-heads, and nothing else', () => {
    expect(parseMigrateCurrent('INFO  [alembic.runtime.migration] Context impl SQLiteImpl.\nv1_12_auditor_role (head)\n')).toEqual({ revision: 'v1_12_auditor_role', isHead: true });
    expect(parseMigrateCurrent('v1_11_audit_append_tally\n')).toEqual({ revision: 'v1_11_audit_append_tally', isHead: false });
    expect(parseMigrateCurrent('OCI runtime exec failed: cannot exec in a stopped container')).toBeUndefined();
  });
});
