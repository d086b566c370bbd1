import { rm, stat } from 'node:fs/promises';
import { makeWorkDir } from '../../harness/runtime/work-dir.ts';
import { basename } from 'node:path';
import { sha256File } from '../../harness/archive/hash.ts';
import { DrillError, InternalError, errorMessage, isRestoreDrillError, UsageError } from '../../harness/errors.ts';
import { hasSqliteHeader, privateCopy } from '../../harness/archive/sqlite-file.ts';
import type Database from 'better-sqlite3';
import { openReadOnly } from '../../harness/checks/sqlite-db.ts';
import type { Manifest } from '../../harness/manifest/schema.ts';
import type { CaptureInput } from '../../harness/profile.ts';
import { TOOL_VERSION } from '../../harness/version.ts';
import { chainShape, integrityLines, readFacts } from './sqlite-facts.ts';
import { CHAIN_SECRET_NAME } from './audit-chain.ts';
import { hasPgDumpMagic } from '../../harness/archive/pg-dump.ts';
import { captureZ4jPg } from './pg/capture.ts';
import { judgeArchiveChain, readArchiveChain } from './archive-chain.ts';
import { z4jSecret } from './secret-env.ts';
import { recordedVersion, secretsReference, z4jExpectations } from './expectations.ts';

/**
 * Expectations from the backup itself: the SQLite snapshot `z4j backup` wrote,
 * opened read-only (a private copy), so they match the archive exactly. A
 * backup every drill would fail (damaged pages, an audit chain that does not
 * verify, a chain that disagrees with its signed state) is refused here, with
 * the drill's own words, while it can still be taken again; so is a file that
 * cannot be read as SQLite at all, as one usage error, never a stack trace.
 */
export async function captureZ4j(input: CaptureInput): Promise<Manifest> {
  // z4j's PostgreSQL backups are pg_dump custom-format archives ("PGDMP").
  if (hasPgDumpMagic(input.archive)) return captureZ4jPg(input);
  if (!(await hasSqliteHeader(input.archive))) {
    throw new UsageError(`${input.archive} is neither a SQLite database nor a pg_dump custom-format archive (what z4j's backups are)`, 'RD_ARCHIVE_FORMAT');
  }
  const work = await makeWorkDir('capture');
  try {
    const copy = await privateCopy(input.archive, work);
    let db: Database.Database;
    try {
      db = openReadOnly(copy);
    } catch (e) {
      throw damaged(input.archive, e);
    }
    try {
      return await captureOpened(input, db, copy);
    } catch (e) {
      // What could not be read in the database (a drill-step error) is the archive's damage, said as a usage error; the rest is said as it is.
      throw isRestoreDrillError(e) && !(e instanceof DrillError || e instanceof InternalError) ? e : damaged(input.archive, e);
    } finally {
      db.close();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** A file SQLite cannot read (a truncated file, a header that lies): one line, what SQLite said. */
function damaged(archive: string, e: unknown): UsageError {
  return new UsageError(`${archive} cannot be read as a SQLite database (damaged or truncated): ${errorMessage(e).split('\n')[0]}`, 'RD_ARCHIVE_DAMAGED');
}

async function captureOpened(input: CaptureInput, db: Database.Database, copy: string): Promise<Manifest> {
  const problems = integrityLines(db);
  if (problems.length > 0) throw new UsageError(`${input.archive} is a damaged SQLite file: ${problems.slice(0, 3).join('; ')}`, 'RD_ARCHIVE_DAMAGED');
  const facts = readFacts(db);
  if (facts.missingTables.length > 0) throw new UsageError(`${input.archive} lacks z4j tables: ${facts.missingTables.join(', ')}`, 'RD_ARCHIVE_FORMAT');
  const version = recordedVersion(input, facts.version);
  if (!version) throw new UsageError(`${input.archive} does not record the z4j version (z4j_meta); pass --app-version`, 'RD_NO_VERSION');
  if (!facts.revision) throw new UsageError(`${input.archive} has no alembic revision`, 'RD_ARCHIVE_FORMAT');
  const chain = chainShape(db);
  if (!chain) throw new UsageError(`${input.archive} has no audit_chain_state: z4j before the authenticated audit chain is not supported`, 'RD_ARCHIVE_FORMAT');
  const secrets = secretsReference(input.secrets);
  const secret = z4jSecret(input.secrets, CHAIN_SECRET_NAME);
  if (secret) {
    // The drill's inspect, now: its findings would fail every drill of this backup.
    const findings = judgeArchiveChain(await readArchiveChain(db, copy, secret), undefined);
    if (findings.length > 0) throw new UsageError(`${input.archive} cannot pass a drill as it is: ${findings.map((f) => f.reason).join('; ')}`, 'RD_ARCHIVE_DAMAGED');
  }
  const st = await stat(input.archive);
  return {
    schemaVersion: 1,
    app: { name: 'z4j', version, schemaRevision: facts.revision },
    archive: { file: basename(input.archive), format: 'sqlite', sha256: await sha256File(input.archive), sizeBytes: st.size, createdAt: st.mtime.toISOString() },
    ...secrets,
    expectations: z4jExpectations(facts, chain),
    capture: { tool: 'restore-drill', toolVersion: TOOL_VERSION, capturedAt: new Date().toISOString() },
  };
}
