import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { walkDumpData } from '../../harness/archive/pg-dump-data.ts';
import { copyColumns, copyFields, DumpFormatError, hasPgDumpMagic, postgresMajor, readDumpToc } from '../../harness/archive/pg-dump.ts';
import { choosePostgresMajor } from '../../harness/images/postgres.ts';
import { inspectDump, type DumpReading } from '../../scenarios/z4j/pg/inspect.ts';
import { judgeDump } from '../../scenarios/z4j/pg/judge-dump.ts';
import { judgeDumpRows } from '../../scenarios/z4j/contract.ts';
import { parseDatabaseUrl, redactUrl } from '../../scenarios/z4j/pg/backup.ts';

import { KEY_ID, makeDump, z4jTables } from '../helpers/pg-dump-fixture.ts';

describe('pg_dump custom-format reader', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-pgdump-'));
  const file = (name: string, b: Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, b);
    return p;
  };

  it('reads the header, the TOC and every data block, counting rows', async () => {
    const p = file('good.dump', makeDump({ tables: z4jTables(5) }));
    expect(hasPgDumpMagic(p)).toBe(true);
    const toc = readDumpToc(p);
    expect(toc.header).toMatchObject({ formatVersion: '1.16.0', compression: 'gzip', database: 'z4j', serverVersion: '17.11 (Debian 17.11-0+deb13u1)', createdAt: '2026-11-22 03:04:05' });
    expect(toc.entries.filter((e) => e.desc === 'TABLE DATA').map((e) => e.tag)).toContain('audit_log');
    const walk = await walkDumpData(p, toc);
    expect(walk.problems).toEqual([]);
    const audit = toc.entries.find((e) => e.desc === 'TABLE DATA' && e.tag === 'audit_log')!;
    expect(walk.blocks.get(audit.dumpId)?.rows).toBe(5);
  });

  it('names the truncation and the table whose data it cut', async () => {
    const whole = makeDump({ tables: z4jTables(50) });
    const p = file('cut.dump', whole.subarray(0, whole.length - 40));
    const walk = await walkDumpData(p, readDumpToc(p));
    expect(walk.problems[0]).toMatch(/^the archive ends inside the data of TABLE DATA public\.audit_chain_state .*it is truncated$/);
  });

  it('refuses a file cut inside its table of contents', () => {
    const p = file('toc-cut.dump', makeDump({ tables: z4jTables(1) }).subarray(0, 200));
    expect(() => readDumpToc(p)).toThrow(DumpFormatError);
    expect(() => readDumpToc(p)).toThrow(/ends inside TOC entry \d+ of \d+.*truncated/);
  });

  it('refuses what is not a custom-format dump, and a format newer than it knows', () => {
    expect(() => readDumpToc(file('text.dump', Buffer.from('-- PostgreSQL database dump\n')))).toThrow(/no "PGDMP" magic/);
    const newer = makeDump({ tables: [] });
    newer[6] = 17;
    expect(() => readDumpToc(file('newer.dump', newer))).toThrow(/archive format 1\.17\.0 is not one this reader knows/);
  });

  it('finds a damaged data block by its checksum', async () => {
    const b = makeDump({ tables: z4jTables(200) });
    const toc = readDumpToc(file('tmp.dump', b));
    const audit = toc.entries.find((e) => e.tag === 'audit_log' && e.desc === 'TABLE DATA')!;
    b[audit.dataPos! + 30] = b[audit.dataPos! + 30]! ^ 0xff; // inside the compressed stream
    const walk = await walkDumpData(file('flipped.dump', b), toc);
    expect(walk.problems.join('\n')).toMatch(/the data of TABLE DATA public\.audit_log (does not inflate|does not end with COPY's end marker)/);
  });

  it('stops a data block that inflates like a gzip bomb, with the tar reader\'s limits and words', async () => {
    const tables = z4jTables(3);
    tables.find((t) => t.name === 'tasks')!.rows = [['x'.repeat(48 * 2 ** 20)]];
    const b = makeDump({ tables });
    const walk = await walkDumpData(file('bomb.dump', b), readDumpToc(file('bomb.dump', b)));
    expect(walk.problems.join('\n')).toMatch(/the data of TABLE DATA public\.tasks does not inflate: gzip bomb: \d+ bytes inflated from \d+ compressed bytes \(more than 200 times\); reading stopped/);
  });

  it('reads COPY columns and fields', () => {
    expect(copyColumns('COPY public.t (id, "Odd ""x""", state_key_id) FROM stdin;\n')).toEqual(['id', 'Odd "x"', 'state_key_id']);
    expect(copyFields('a\\tb\t\\N\tc\\\\d')).toEqual(['a\tb', null, 'c\\d']);
  });
});

describe('z4j dump inspection', () => {
  /** What inspect read, as the contract judges it (a manifest recording no server version, no secret supplied). */
  const judged = (r: DumpReading) => ({ ...r, findings: judgeDump({ archive: {} } as Parameters<typeof judgeDump>[0], r, undefined) });
  const dir = mkdtempSync(join(tmpdir(), 'rd-pginspect-'));
  const file = (name: string, b: Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, b);
    return p;
  };

  it("passes a whole dump and reads the chain state's key id from the dump's data", async () => {
    const r = judged(await inspectDump(file('ok.dump', makeDump({ tables: z4jTables(3) }))));
    expect(r.findings.filter((f) => f.status !== 'pass')).toEqual([]);
    expect(r.serverMajor).toBe(17);
    expect(r.chainStateKeyId).toBe(KEY_ID);
    expect(r.rows.audit_log).toBe(3);
    expect(r.unrestorable).toBe(false);
  });

  it("names a table whose data the TOC lacks", async () => {
    const r = judged(await inspectDump(file('no-audit.dump', makeDump({ tables: z4jTables(3), omitData: ['audit_log'] }))));
    expect(r.findings.find((f) => f.status === 'fail')?.reason).toMatch(/^the dump's table of contents has no data for audit_log \(no TABLE DATA entry\)/);
  });

  it('is a clear finding when a newer PostgreSQL major made the dump', async () => {
    const r = judged(await inspectDump(file('pg18.dump', makeDump({ server: '18.1', tables: z4jTables(3) }))));
    expect(r.unrestorable).toBe(true);
    expect(r.findings.find((f) => f.id === 'inspect.pg-server')).toMatchObject({
      status: 'fail',
      reason: expect.stringMatching(/^the dump was made by PostgreSQL 18\.1, newer than any server this drill can run \(17\): pg_restore cannot restore a newer major's dump/),
    });
  });

  it('counts the rows in the dump, and the contract compares them with the manifest at inspect, before any server starts', async () => {
    const manifest = { archive: {}, expectations: { counts: { audit_log: 4 } } } as unknown as Parameters<typeof judgeDumpRows>[0];
    const r = await inspectDump(file('rows.dump', makeDump({ tables: z4jTables(3) })));
    expect(r.rows.audit_log).toBe(3);
    const found = judgeDumpRows(manifest, { counts: r.rows, fingerprints: {} });
    expect(found.find((f) => f.id === 'inspect.pg-rows.audit_log')?.reason).toBe('the dump holds 3 rows of audit_log, the manifest expects 4');
    expect(judgeDumpRows(manifest, { counts: { ...r.rows, audit_log: 4 }, fingerprints: {} })).toEqual([]);
  });
});

describe('PostgreSQL versions and URLs', () => {
  it('picks the oldest server major that reads a dump, never an older one', () => {
    expect(postgresMajor('17.11 (Debian 17.11-0+deb13u1)')).toBe(17);
    expect(postgresMajor('9.6.24')).toBe(9.6);
    expect(choosePostgresMajor(15)).toBe(15);
    expect(choosePostgresMajor(16)).toBe(17);
    expect(choosePostgresMajor(15, (m) => m >= 16)).toBe(17);
    expect(choosePostgresMajor(18)).toBeUndefined();
  });

  it('parses database URLs and never prints their password', () => {
    expect(parseDatabaseUrl('postgresql+asyncpg://z4j:s%40cret@db.internal:6432/brain')).toEqual({ host: 'db.internal', port: 6432, user: 'z4j', database: 'brain', password: 's@cret' });
    expect(parseDatabaseUrl('postgres://postgres@10.0.0.5/z4j')).toEqual({ host: '10.0.0.5', port: 5432, user: 'postgres', database: 'z4j' });
    expect(() => parseDatabaseUrl('postgresql://host/db')).toThrow(/must name user, host and database/);
    expect(redactUrl('postgresql://z4j:hunter2@db/z4j')).toBe('postgresql://z4j:***@db/z4j');
  });
});
