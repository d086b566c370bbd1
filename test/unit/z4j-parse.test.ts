import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAuditVerify, parseCheck, parseMigrationHeads, parseStatus, type Parsed } from '../../scenarios/z4j/parse.ts';

// Each version's real output, recorded from its PyPI install (fixtures/z4j-output/README.md).
const VERSIONS = ['1.8.0', '1.9.0', '1.12.1', '1.13.0'] as const;
const dir = join(import.meta.dirname, 'fixtures', 'z4j-output');
const out = (v: string, c: string): string => readFileSync(join(dir, v, `${c}.stdout`), 'utf8');

function value<T>(p: Parsed<T>): T {
  if (!p.ok) throw new Error(`expected a parse, got: ${p.error}`);
  return p.value;
}
function error<T>(p: Parsed<T>): string {
  if (p.ok) throw new Error(`expected an error, got ${JSON.stringify(p.value)}`);
  return p.error;
}

describe.each(VERSIONS)("z4j %s's real output", (v) => {
  it('z4j check: all green at a revision', () => {
    const c = value(parseCheck(out(v, 'check')));
    expect(c.allGreen).toBe(true);
    expect(c.rows.config).toBe('OK');
    expect(c.rows['database connectivity']).toBe('OK');
    expect(c.revision).toMatch(/^v1_\d+_\w+$/);
  });

  it('z4j status: every counted table, under either version\'s labels', () => {
    const s = value(parseStatus(out(v, 'status')));
    expect(s.version).toBe(v);
    expect(s.revision).toMatch(/^v1_\d+_\w+$/);
    expect(s.counts).toEqual({ users: 4, projects: 3, agents: 6, tasks: 30, sessions: 4, 'audit rows': 40 });
  });

  it('z4j audit verify: clean and tampered, with either frozen-rows line', () => {
    expect(value(parseAuditVerify(out(v, 'verify')))).toEqual({ mode: 'authenticated', verified: 40, frozen: 0, mismatches: 0, problems: [] });
    const badRun = value(parseAuditVerify(out(v, 'verify-bad')));
    expect(badRun.verified).toBe(39);
    expect(badRun.mismatches).toBe(1);
    expect(badRun.problems[0]).toMatch(/active row HMAC mismatch$/);
  });

});

describe('z4j output parsers are strict', () => {
  const check = out('1.13.0', 'check');
  const status = out('1.13.0', 'status');
  const verify = out('1.13.0', 'verify');

  it('an unknown line is an error naming it, never skipped', () => {
    expect(error(parseCheck(check.replace('  config', '  FAIL   something broke\n  config')))).toContain('"  FAIL   something broke"');
    expect(error(parseStatus(status.replace('  row counts:', '  row counts:\n    widgets                  3')))).toContain('widgets');
    expect(error(parseAuditVerify(`${verify}canonical frozen rows rejected: 3\n`))).toContain('canonical frozen rows rejected: 3');
    expect(error(parseAuditVerify(verify.replace('verified active: 40', 'verified active: 40\nsomething new')))).toContain('something new');
    expect(error(parseMigrationHeads('v1_12_auditor_role\nTraceback (most recent call last):\n'))).toContain('"Traceback (most recent call last):"');
  });

  it('"all green." only counts as the last line, and the rows are still read', () => {
    expect(error(parseCheck(`${check}  config                          FAIL\n`))).toContain('after "all green."');
    const noRev = value(parseCheck(out('1.13.0', 'check-empty')));
    expect(noRev.allGreen).toBe(true);
    expect(noRev.revision).toBeUndefined();
    expect(noRev.rows['alembic version']).toMatch(/^not present \(\(sqlite3\.OperationalError\) no such table/);
  });

  it("an empty database's status is read as n/a counts", () => {
    for (const v of ['1.8.0', '1.13.0']) {
      const s = value(parseStatus(out(v, 'status-empty')));
      expect(s.revision).toBeUndefined();
      expect(new Set(Object.values(s.counts))).toEqual(new Set(['n/a']));
    }
  });

  it('a wrong shape is an error, not a partial read', () => {
    expect(parseStatus('something else').ok).toBe(false);
    expect(parseAuditVerify('z4j audit verify: failed to load settings: ValidationError').ok).toBe(false);
    expect(parseAuditVerify('verified active: 40\n').ok).toBe(false); // no frozen-rows line
    expect(parseAuditVerify(`${verify}MISMATCHES (2):\n`).ok).toBe(false); // announced, none listed
    expect(parseMigrationHeads('').ok).toBe(false);
    expect(value(parseMigrationHeads('v1_12_auditor_role\n'))).toEqual(['v1_12_auditor_role']);
    expect(value(parseMigrationHeads('a_head\nb_head\n'))).toEqual(['a_head', 'b_head']);
    expect(value(parseAuditVerify('verified: 12\n'))).toMatchObject({ mode: 'legacy', verified: 12 });
  });
});

describe('quote: what a failed z4j command said, never a traceback', () => {
  it('keeps the exception line of a Python traceback, without the module path, and drops the frames', async () => {
    const { quote } = await import('../../scenarios/z4j/parse.ts');
    const stderr = [
      'Traceback (most recent call last):',
      '  File "/opt/z4j/bin/z4j", line 8, in <module>',
      '    sys.exit(main())',
      '             ^^^^^^',
      '  File "/opt/z4j/lib/python3.11/site-packages/z4j_brain/secret_store.py", line 212, in _parse_document',
      '    raise SecretStoreError(',
      'z4j_brain.secret_store.SecretStoreError: refusing to mint Z4J_SECRET from a management command',
    ].join('\n');
    expect(quote('', stderr)).toBe('SecretStoreError: refusing to mint Z4J_SECRET from a management command');
    expect(quote('', stderr)).not.toMatch(/Traceback|File "|\^\^/);
  });

  it('drops chained tracebacks too, keeping each exception line', async () => {
    const { quote } = await import('../../scenarios/z4j/parse.ts');
    const stderr = 'Traceback (most recent call last):\n  File "a.py", line 1, in f\n    x()\nKeyError: \'Z4J_SECRET\'\n\nDuring handling of the above exception, another exception occurred:\n\nTraceback (most recent call last):\n  File "b.py", line 2, in g\n    y()\nclick.exceptions.Exit: 1\nz4j: refusing to mint Z4J_SECRET from a management command';
    expect(quote('', stderr)).toBe("KeyError: 'Z4J_SECRET' | Exit: 1 | z4j: refusing to mint Z4J_SECRET from a management command");
  });

  it('quotes plain output as before: its last lines', async () => {
    const { quote } = await import('../../scenarios/z4j/parse.ts');
    expect(quote('a\nb\nc\nd\ne\n', '')).toBe('b | c | d | e');
    expect(quote('', '')).toBe('(no output)');
  });
});
