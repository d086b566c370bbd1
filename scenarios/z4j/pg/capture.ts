import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { sha256File } from '../../../harness/archive/hash.ts';
import { DumpFormatError, postgresMajor, readDumpToc, type DumpHeader } from '../../../harness/archive/pg-dump.ts';
import { InternalError, UsageError } from '../../../harness/errors.ts';
import { choosePostgresMajor, postgresImage } from '../../../harness/images/postgres.ts';
import type { Manifest } from '../../../harness/manifest/schema.ts';
import type { CaptureInput } from '../../../harness/profile.ts';
import { newDrillId } from '../../../harness/runtime/index.ts';
import { POSTGRES_COMMAND, POSTGRES_PORT, POSTGRES_SUPERUSER, psql, waitForPostgres } from '../../../harness/runtime/postgres.ts';
import { TOOL_VERSION } from '../../../harness/version.ts';
import type { ChainObservation } from '../../../harness/model/types.ts';
import type pg from 'pg';
import { CHAIN_SECRET_NAME } from '../audit-chain.ts';
import { chainDamage } from '../archive-chain.ts';
import { z4jSecret } from '../secret-env.ts';
import { observePgChainState } from './chain-state.ts';
import { readPgFacts, walkPgChain, type PgFacts } from './facts.ts';
import { connectPg, inSnapshot } from '../../../harness/runtime/pg-kit.ts';
import { recordedVersion, secretsReference, z4jExpectations } from '../expectations.ts';

export const PG_ARCHIVE_FORMAT = 'pg_dump-custom';
const SCRATCH_DATABASE = 'scratch';

/**
 * Expectations from a finished pg_dump archive: it is restored (plain
 * pg_restore, no z4j) into a scratch PostgreSQL server on a private network,
 * and read there with `pg` exactly as a drill reads the restored database.
 */
export async function captureZ4jPg(input: CaptureInput): Promise<Manifest> {
  // A secret.env capture would refuse is refused before a scratch server starts.
  secretsReference(input.secrets);
  let header: DumpHeader;
  try {
    header = readDumpToc(input.archive).header;
  } catch (e) {
    if (e instanceof DumpFormatError) throw new UsageError(`${input.archive} is not a readable pg_dump custom-format archive: ${e.message}`, 'RD_ARCHIVE_FORMAT');
    throw e;
  }
  const madeBy = postgresMajor(header.serverVersion);
  const major = madeBy === undefined ? undefined : choosePostgresMajor(madeBy);
  if (major === undefined) throw new UsageError(`${input.archive} was made by PostgreSQL ${header.serverVersion ?? '(unknown)'}: no server this tool can run reads it`, 'RD_ARCHIVE_FORMAT');

  if (!input.runtime) throw new InternalError(`${input.archive} is read on a scratch PostgreSQL server, and its capture was given no runtime to start one on`);
  const runtime = await input.runtime();
  const image = await runtime.image(postgresImage(major));
  const drillId = newDrillId();
  const net = await runtime.privateNetwork(drillId);
  const db = await runtime.start({ image: image.tag, drillId, network: net.name, command: POSTGRES_COMMAND, labels: { 'io.restore-drill.role': 'capture-scratch' } });
  try {
    await waitForPostgres(db);
    await psql(db, 'postgres', `CREATE DATABASE ${SCRATCH_DATABASE}`);
    // Copied files keep the archive's owner and mode (z4j writes 0600): pg_restore runs as root to read it.
    await db.copyIn(input.archive, '/tmp/archive.dump', 0o600);
    const r = await db.exec(['pg_restore', '--no-owner', '--no-acl', '--exit-on-error', '-h', '127.0.0.1', '-U', POSTGRES_SUPERUSER, '-d', SCRATCH_DATABASE, '/tmp/archive.dump'], { timeoutMs: 3_600_000, user: 'root' });
    if (r.exitCode !== 0) throw new UsageError(`${input.archive} does not restore into a scratch PostgreSQL ${major}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`, 'RD_ARCHIVE_FORMAT');
    const client = await connectPg({ host: db.ipAddress(net.name), port: POSTGRES_PORT, user: POSTGRES_SUPERUSER, database: SCRATCH_DATABASE });
    try {
      const secret = z4jSecret(input.secrets, CHAIN_SECRET_NAME);
      const { facts, chain, damage } = await inSnapshot(client, async () => ({ facts: await readPgFacts(client), ...(await readCapturedChain(client, secret)) }));
      const st = await stat(input.archive);
      return pgManifest(input, { facts, chain, damage, header, sha256: await sha256File(input.archive), sizeBytes: st.size, createdAt: st.mtime });
    } finally {
      await client.end();
    }
  } finally {
    await db.stop();
    await net.remove();
  }
}

/**
 * The chain of the database being captured, walked with the secret where there
 * is one, and what is wrong with it as a drill would say it (rows that do not
 * verify, broken links, a chain its signed state disagrees with): every drill
 * of such a backup would fail, so capture refuses it.
 */
export async function readCapturedChain(client: pg.Client, secret: string | undefined): Promise<{ chain: ChainObservation | undefined; damage: string[] }> {
  const chain = await walkPgChain(client, secret);
  if (!chain || !secret) return { chain, damage: [] };
  const state = await observePgChainState(client, secret, chain);
  return { chain, damage: chainDamage(chain, state).map((f) => f.reason) };
}

export interface PgCaptured {
  facts: PgFacts;
  chain: ChainObservation | undefined;
  /** What a drill would find wrong with the chain (readCapturedChain): refused. */
  damage?: string[];
  header: Pick<DumpHeader, 'serverVersion' | 'dumpVersion'>;
  sha256: string;
  sizeBytes: number;
  createdAt: Date;
}

/** The manifest of a z4j pg_dump archive from what was read (the same for a finished dump and a live backup). */
export function pgManifest(input: Pick<CaptureInput, 'archive' | 'secrets' | 'appVersion'>, c: PgCaptured): Manifest {
  const { facts, chain } = c;
  if (facts.missingTables.length > 0) throw new UsageError(`${input.archive} lacks z4j tables: ${facts.missingTables.join(', ')}`, 'RD_ARCHIVE_FORMAT');
  const version = recordedVersion(input, facts.version);
  if (!version) throw new UsageError(`${input.archive} does not record the z4j version (z4j_meta); pass --app-version`, 'RD_NO_VERSION');
  if (!facts.revision) throw new UsageError(`${input.archive} has no alembic revision`, 'RD_ARCHIVE_FORMAT');
  if (!chain) throw new UsageError(`${input.archive} has no audit_chain_state: z4j before the authenticated audit chain is not supported`, 'RD_ARCHIVE_FORMAT');
  if (c.damage?.length) throw new UsageError(`${input.archive} cannot pass a drill as it is: ${c.damage.join('; ')}`, 'RD_ARCHIVE_DAMAGED');
  const serverVersion = c.header.serverVersion ?? facts.serverVersion;
  return {
    schemaVersion: 1,
    app: { name: 'z4j', version, schemaRevision: facts.revision },
    archive: {
      file: basename(input.archive),
      format: PG_ARCHIVE_FORMAT,
      sha256: c.sha256,
      sizeBytes: c.sizeBytes,
      createdAt: c.createdAt.toISOString(),
      database: { engine: 'postgresql', serverVersion, major: postgresMajor(serverVersion) ?? 0, ...(c.header.dumpVersion ? { dumpToolVersion: c.header.dumpVersion } : {}) },
    },
    ...secretsReference(input.secrets),
    expectations: z4jExpectations(facts, chain),
    capture: { tool: 'restore-drill', toolVersion: TOOL_VERSION, capturedAt: new Date().toISOString() },
  };
}
