import { chmod, rename, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { sha256File } from '../../../harness/archive/hash.ts';
import { walkDumpData } from '../../../harness/archive/pg-dump-data.ts';
import { postgresMajor, readDumpToc } from '../../../harness/archive/pg-dump.ts';
import { EnvironmentError, UsageError } from '../../../harness/errors.ts';
import { choosePostgresMajor, postgresImage } from '../../../harness/images/postgres.ts';
import type { BackupInput, BackupResult } from '../../../harness/profile.ts';
import { newDrillId, type Runtime } from '../../../harness/runtime/index.ts';
import { readPgFacts } from './facts.ts';
import { connectPg, type PgConnection } from '../../../harness/runtime/pg-kit.ts';
import { CHAIN_SECRET_NAME } from '../audit-chain.ts';
import { z4jSecret } from '../secret-env.ts';
import { pgManifest, readCapturedChain } from './capture.ts';

/**
 * z4j's own PostgreSQL backup flags (z4j_brain.management_restore_postgres
 * `_run_backup`): custom format, gzip level 6, no owners, no grants.
 */
export const Z4J_PG_DUMP_FLAGS = ['-Fc', '-Z', '6', '--no-owner', '--no-acl'];

/**
 * A backup of a live z4j PostgreSQL database whose manifest agrees with it
 * exactly while the database keeps taking writes: one repeatable-read
 * transaction exports its snapshot (pg_export_snapshot), the harness reads
 * counts, fingerprints and the whole audit chain inside it, and pg_dump
 * (z4j's flags, a client of the server's major, in a container) dumps that
 * same snapshot with --snapshot. The transaction stays open until both are
 * done.
 */
export async function backupZ4jPg(input: BackupInput): Promise<BackupResult> {
  const conn = parseDatabaseUrl(input.source);
  const output = resolve(input.output);
  if (existsSync(output)) throw new UsageError(`${output} exists: refusing to overwrite a backup`, 'RD_ARCHIVE_EXISTS');
  const runtime = await input.runtime();
  const client = await connectPg(conn).catch((e: Error) => {
    throw new EnvironmentError(`cannot connect to ${redactUrl(input.source)}: ${e.message}`, 'RD_SOURCE_UNREACHABLE');
  });
  const partial = `${output}.partial`;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const snapshot = (await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id')).rows[0]!.id;
    const serverVersion = (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
    const major = postgresMajor(serverVersion);
    // z4j's own backup insists on a pg_dump of the server's major; the nearest newer one also reads it.
    const dumpMajor = major === undefined ? undefined : choosePostgresMajor(major);
    if (dumpMajor === undefined) throw new EnvironmentError(`no pg_dump here can dump PostgreSQL ${serverVersion}`, 'RD_NO_PG_DUMP');
    input.say(`snapshot ${snapshot} of PostgreSQL ${serverVersion}: dumping it with pg_dump ${dumpMajor} and reading the expectations from it`);
    const [, read] = await Promise.all([
      dumpSnapshot(runtime, conn, snapshot, dumpMajor, partial, input.network ?? 'host'),
      (async () => ({ facts: await readPgFacts(client), ...(await readCapturedChain(client, z4jSecret(input.secrets, CHAIN_SECRET_NAME))) }))(),
    ]);
    await client.query('COMMIT');
    await chmod(partial, 0o600);
    const toc = readDumpToc(partial);
    // The dump must hold exactly what was read: the audit rows counted in its own data.
    const auditData = toc.entries.find((e) => e.desc === 'TABLE DATA' && e.namespace === 'public' && e.tag === 'audit_log');
    const walk = await walkDumpData(partial, toc);
    const dumped = auditData && walk.blocks.get(auditData.dumpId)?.rows;
    if (walk.problems.length > 0 || dumped !== read.facts.counts.audit_log) {
      throw new EnvironmentError(`the dump does not match the snapshot it was made from (audit rows in the dump: ${dumped ?? 'none'}, read: ${read.facts.counts.audit_log}${walk.problems.length ? `; ${walk.problems[0]}` : ''})`, 'RD_BACKUP_MISMATCH');
    }
    await rename(partial, output);
    const st = await stat(output);
    let manifest;
    try {
      manifest = pgManifest(
        { archive: output, ...(input.secrets ? { secrets: input.secrets } : {}), ...(input.appVersion ? { appVersion: input.appVersion } : {}) },
        { ...read, header: toc.header, sha256: await sha256File(output), sizeBytes: st.size, createdAt: new Date() },
      );
    } catch (e) {
      // The dump is what the database holds, and is kept; a manifest every drill would fail is not written.
      if (e instanceof UsageError) throw new UsageError(`${e.message} (the dump is kept at ${output}; no manifest was written)`, e.code);
      throw e;
    }
    return { archive: output, manifest };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    await rm(partial, { force: true });
    throw e;
  } finally {
    await client.end();
  }
}

/** pg_dump of an exported snapshot, in a container of the postgres image; the password (if any) as a 0600 file. */
async function dumpSnapshot(runtime: Runtime, conn: PgConnection, snapshot: string, major: number, target: string, network: string): Promise<void> {
  const image = await runtime.image(postgresImage(major));
  await using c = await runtime.start({ image: image.tag, drillId: newDrillId(), network, command: ['sleep', 'infinity'], labels: { 'io.restore-drill.role': 'backup' } });
  const env: Record<string, string> = { PGHOST: conn.host, PGPORT: String(conn.port), PGUSER: conn.user, PGDATABASE: conn.database, PGCONNECT_TIMEOUT: '15', TZ: 'UTC' };
  if (conn.password !== undefined) {
    const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
    await c.writeFile('/tmp/pgpass', `${[conn.host, conn.port, conn.database, conn.user, conn.password].map((v) => esc(String(v))).join(':')}\n`, 0o600);
    env.PGPASSFILE = '/tmp/pgpass';
  }
  const r = await c.exec(['pg_dump', ...Z4J_PG_DUMP_FLAGS, `--snapshot=${snapshot}`, '--file', '/tmp/backup.dump'], { timeoutMs: 3_600_000, env, user: 'root' });
  if (r.exitCode !== 0) throw new EnvironmentError(`pg_dump --snapshot failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`, 'RD_PG_DUMP');
  await c.copyOut('/tmp/backup.dump', target);
}

/** postgresql://user[:password]@host[:port]/database (z4j's postgresql+asyncpg:// form too). */
export function parseDatabaseUrl(source: string): PgConnection {
  let u: URL;
  try {
    u = new URL(source.replace(/^postgres(?:ql)?(?:\+\w+)?:/, 'postgresql:'));
  } catch {
    throw new UsageError(`--source must be a PostgreSQL URL like postgresql://user@host:5432/db, got ${redactUrl(source)}`, 'RD_USAGE');
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (u.protocol !== 'postgresql:' || !u.hostname || !u.username || !database) {
    throw new UsageError(`--source must name user, host and database: postgresql://user@host:5432/db, got ${redactUrl(source)}`, 'RD_USAGE');
  }
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username),
    database,
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  };
}

/** A URL with its password replaced, for messages. */
export function redactUrl(source: string): string {
  return source.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
}
