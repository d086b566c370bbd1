import { dockerRuntime } from '../../harness/runtime/docker.ts';
import { mkdtempSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '../../harness/archive/hash.ts';
import { walkDumpData } from '../../harness/archive/pg-dump-data.ts';
import { readDumpToc } from '../../harness/archive/pg-dump.ts';
import { backupCommand } from '../../harness/commands/backup.ts';
import { planDrills } from '../../harness/drill/plan.ts';
import { runDrill } from '../../harness/drill/run-drill.ts';
import type { Manifest } from '../../harness/manifest/schema.ts';
import { ensureEngine } from '../../harness/runtime/engine.ts';
import { makeZ4jPgDeployment, type PgDeployment } from '../../scenarios/z4j/pg/sample/deployment.ts';
import { Z4J_PG_TEST_MAJOR } from '../../scenarios/z4j/pg/image.ts';
import { Z4jSession } from '../../scenarios/z4j/session.ts';
import { pgBackend } from '../../scenarios/z4j/pg/backend.ts';
import { connectPg } from '../../harness/runtime/pg-kit.ts';
import { Z4J_PINNED_VERSION } from '../../scenarios/z4j/version.ts';
import { z4jProfile } from '../../scenarios/z4j/index.ts';
import { capture, captureRefusal, captureUnchecked, drill, failures, variant } from '../helpers/drill.ts';
import { skipReason } from './engine.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

/** A manifest edited to describe a changed archive (as if it had been captured after the damage). */
function rehash(archive: string, edit?: (m: Manifest) => void): Promise<void> {
  return sha256File(archive).then((sha256) => {
    const m = JSON.parse(readFileSync(`${archive}.manifest.json`, 'utf8')) as Manifest;
    m.archive.sha256 = sha256;
    m.archive.sizeBytes = statSync(archive).size;
    edit?.(m);
    writeFileSync(`${archive}.manifest.json`, JSON.stringify(m));
  });
}

async function liveAuditRows(d: PgDeployment): Promise<number> {
  const c = await connectPg(d.database);
  try {
    return Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM audit_log')).rows[0]!.n);
  } finally {
    await c.end();
  }
}

describe.skipIf(skipReason)('z4j PostgreSQL drill cases', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-z4j-pg-'));
  let live: PgDeployment;

  beforeAll(async () => {
    const runtime = await testRuntime();
    live = await makeZ4jPgDeployment({ runtime, version: Z4J_PINNED_VERSION, pgMajor: Z4J_PG_TEST_MAJOR, outDir: dir, name: 'good.dump' });
    await capture('z4j', live.archive, live.secrets);
  });
  afterAll(async () => {
    await live?.stop();
  });

  it('passes a good pg_dump backup made by z4j backup', async () => {
    const m = JSON.parse(readFileSync(`${live.archive}.manifest.json`, 'utf8')) as Manifest;
    expect(m.archive.format).toBe('pg_dump-custom');
    expect(m.archive.database).toMatchObject({ engine: 'postgresql', major: Z4J_PG_TEST_MAJOR });
    const r = await drill('z4j', live.archive, { secrets: live.secrets });
    expect(failures(r)).toEqual([]);
    expect(r.verdict).toBe('passed');
    expect(r.image?.tag).toContain(`restore-drill/z4j-pg:${Z4J_PINNED_VERSION}-pg${Z4J_PG_TEST_MAJOR}-`);
    const byId = (id: string) => r.checks.find((c) => c.id === id)?.reason;
    expect(byId('provision.database-server')).toMatch(new RegExp(`^fresh PostgreSQL ${Z4J_PG_TEST_MAJOR}\\.\\d+ .* on internal network`));
    expect(byId('restore.z4j-restore')).toMatch(/^z4j restore --force completed \(postgres backend\)/);
    expect(byId('compare.chain.walk')).toMatch(/^all \d+ audit_log rows verify and link$/);
    expect(byId('app.restore-audit-row')).toMatch(/this archive's sha256/);
  });

  it('fails a truncated dump at inspect, before any server starts', async () => {
    const archive = variant(live.archive, 'truncated.dump');
    truncateSync(archive, Math.floor(statSync(archive).size * 0.97));
    await rehash(archive);
    const r = await drill('z4j', archive, { secrets: live.secrets });
    expect(r.verdict).toBe('failed');
    expect(r.summary).toMatch(/^inspect: the dump's data is damaged: the archive ends inside the data of TABLE DATA public\.\w+ .*it is truncated/);
    expect(r.checks.find((c) => c.id === 'provision.refused')?.reason).toMatch(/^nothing was started/);
    expect(r.checks.some((c) => c.id === 'provision.database-server')).toBe(false);
    expect(r.stages.map((s) => s.name)).toEqual(['fetch', 'integrity', 'inspect', 'provision']);
  });

  it('fails a dump made by a newer PostgreSQL major than any drill server, starting nothing', async () => {
    const archive = variant(live.archive, 'from-pg18.dump');
    // The header's server and pg_dump version strings, "17.x (...)" made "18.x (...)" in place.
    const bytes = readFileSync(archive);
    const head = bytes.subarray(0, 200);
    for (let at = head.indexOf(`${Z4J_PG_TEST_MAJOR}.`); at !== -1; at = head.indexOf(`${Z4J_PG_TEST_MAJOR}.`, at + 1)) head.write('18', at, 'latin1');
    writeFileSync(archive, bytes);
    const server = readDumpToc(archive).header.serverVersion!;
    expect(server).toMatch(/^18\./);
    await rehash(archive, (m) => void (m.archive.database = { ...m.archive.database!, serverVersion: server, major: 18 }));
    const r = await drill('z4j', archive, { secrets: live.secrets });
    expect(r.verdict).toBe('failed');
    expect(r.summary).toMatch(new RegExp(`^inspect: the dump was made by PostgreSQL 18\\.\\d+ .*, newer than any server this drill can run \\(${Z4J_PG_TEST_MAJOR}\\)`));
    expect(r.checks.some((c) => c.id === 'provision.database-server')).toBe(false);
  });

  it("fails a dump whose table of contents lacks audit_log's data, naming the table", async () => {
    const name = 'no-audit-data.dump';
    await live.run(['sh', '-c', `pg_dump -Fc -Z 6 --no-owner --no-acl --exclude-table-data=audit_log -h db -U postgres -d z4j -f /backup/${name}`]);
    const archive = join(dir, name);
    await live.app.copyOut(`/backup/${name}`, archive);
    // Capture refuses it (its chain state counts rows the dump does not hold); the drill of an earlier manifest names the table.
    expect(await captureRefusal('z4j', archive, live.secrets)).toMatch(/archive audit chain against its signed state: the chain has 0 active rows/);
    await captureUnchecked(archive, live.secrets);
    const r = await drill('z4j', archive, { secrets: live.secrets });
    expect(r.verdict).toBe('failed');
    expect(r.summary).toMatch(/^inspect: the dump's table of contents has no data for audit_log \(no TABLE DATA entry\)/);
  });

  it('fails with a different secret, saying the secret does not match the chain', async () => {
    const other = join(dir, 'other.secret.env');
    writeFileSync(other, readFileSync(live.secrets, 'utf8').replace(/=(.*)$/gm, () => `=${randomBytes(36).toString('base64url')}`), { mode: 0o600 });
    // The whole file is another install's: said before anything starts.
    const early = await drill('z4j', live.archive, { secrets: other });
    expect(early.verdict).toBe('failed');
    expect(early.stages.map((s) => s.name)).toEqual(['fetch', 'integrity']);
    expect(early.summary).toMatch(/^integrity: secrets file .* is not the one recorded at capture/);
    // A manifest that records this file (captured with it by mistake): the chain says the secret is not its signer.
    const mistaken = variant(live.archive, 'mistaken-secret.dump');
    await captureUnchecked(mistaken, other);
    const r = await drill('z4j', mistaken, { secrets: other });
    expect(r.verdict).toBe('failed');
    expect(r.summary).toMatch(/^inspect: the secret supplied is not the one that signed this audit chain/);
    expect(r.summary).not.toMatch(/corrupt data|damaged/);
    // z4j's own restore agrees: it refuses the chain under that key.
    expect(failures(r).join('\n')).toMatch(/restore\/restore\.z4j-restore: z4j restore failed .*audit keys/);
  });

  it('refuses a target database that is not empty', async () => {
    const [plan] = await planDrills({ profile: 'z4j', archives: [live.archive], secrets: live.secrets });
    const forced = {
      ...z4jProfile,
      session: (ctx: Parameters<typeof z4jProfile.session>[0]) =>
        new Z4jSession(ctx, pgBackend({ prepareTarget: async (c) => void (await c.query('CREATE TABLE public.leftover (id int)')) })),
    };
    const r = await runDrill({ ...plan!, profile: forced }, { runtime: dockerRuntime(await ensureEngine()) });
    expect(r.verdict).toBe('failed');
    expect(r.summary).toBe('provision: target database z4j is not empty: it holds table public.leftover before the restore; refusing to restore over it');
    expect(r.stages.map((s) => s.name)).not.toContain('restore');
  });

  it('captures from one snapshot while another process inserts audit rows: manifest and dump agree, drill passes', async () => {
    // z4j's own audit service appends rows in 5-row transactions until stopped.
    await live.run(['sh', '-c', 'python3 /opt/fixture/seed.py --no-migrate --audit-rows 100000000 --batch 5 --users 0 --projects 0 --agents-per-project 0 --tasks-per-project 0 --sessions-per-user 0 >/tmp/writer.log 2>&1 & echo $! >/tmp/writer.pid']);
    try {
      const start = await liveAuditRows(live);
      for (let i = 0; i < 120 && (await liveAuditRows(live)) < start + 50; i++) await new Promise((r) => setTimeout(r, 500));
      const before = await liveAuditRows(live);
      expect(before).toBeGreaterThanOrEqual(start + 50);
      const out = join(dir, 'under-load.dump');
      const { host, port, user, database } = live.database;
      expect(await backupCommand({ profile: 'z4j', source: `postgresql://${user}@${host}:${port}/${database}`, out, secrets: live.secrets, say: () => {} })).toBe(0);
      const after = await liveAuditRows(live);
      const m = JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8')) as Manifest;
      const expected = m.expectations.counts.audit_log as number;
      expect(expected).toBeGreaterThanOrEqual(before);
      expect(after).toBeGreaterThan(expected); // writes went on during and after the backup
      // The dump's own audit rows, counted in its COPY data, are exactly the manifest's.
      const toc = readDumpToc(out);
      const walk = await walkDumpData(out, toc);
      const auditData = toc.entries.find((e) => e.desc === 'TABLE DATA' && e.tag === 'audit_log')!;
      expect(walk.blocks.get(auditData.dumpId)?.rows).toBe(expected);
      expect(m.expectations.chain?.length).toBe(expected);
      const r = await drill('z4j', out, { secrets: live.secrets });
      expect(failures(r)).toEqual([]);
      expect(r.verdict).toBe('passed');
    } finally {
      await live.run(['sh', '-c', 'kill "$(cat /tmp/writer.pid)"']).catch(() => undefined);
    }
  });
});
