import { rm, stat } from 'node:fs/promises';
import { makeWorkDir } from '../../harness/runtime/work-dir.ts';
import { basename } from 'node:path';
import { sha256File } from '../../harness/archive/hash.ts';
import { UsageError } from '../../harness/errors.ts';
import { hasSqliteHeader, privateCopy } from '../../harness/archive/sqlite-file.ts';
import { openReadOnly } from '../../harness/checks/sqlite-db.ts';
import type { Manifest } from '../../harness/manifest/schema.ts';
import type { CaptureInput } from '../../harness/profile.ts';
import { TOOL_VERSION } from '../../harness/version.ts';
import { chainShape, readFacts } from './sqlite-facts.ts';
import { CHAIN_SECRET_NAME } from './audit-chain.ts';
import { hasPgDumpMagic } from '../../harness/archive/pg-dump.ts';
import { captureZ4jPg } from './pg/capture.ts';
import { recordedVersion, secretsReference, z4jExpectations } from './expectations.ts';

/**
 * Expectations from the backup itself: the SQLite snapshot `z4j backup` wrote,
 * opened read-only (a private copy), so they match the archive exactly.
 */
export async function captureZ4j(input: CaptureInput): Promise<Manifest> {
  // z4j's PostgreSQL backups are pg_dump custom-format archives ("PGDMP").
  if (hasPgDumpMagic(input.archive)) return captureZ4jPg(input);
  if (!(await hasSqliteHeader(input.archive))) {
    throw new UsageError(`${input.archive} is neither a SQLite database nor a pg_dump custom-format archive (what z4j's backups are)`, 'RD_ARCHIVE_FORMAT');
  }
  const work = await makeWorkDir('capture');
  try {
    const db = openReadOnly(await privateCopy(input.archive, work));
    try {
      const facts = readFacts(db);
      if (facts.missingTables.length > 0) throw new UsageError(`${input.archive} lacks z4j tables: ${facts.missingTables.join(', ')}`, 'RD_ARCHIVE_FORMAT');
      const version = recordedVersion(input, facts.version);
      if (!version) throw new UsageError(`${input.archive} does not record the z4j version (z4j_meta); pass --app-version`, 'RD_NO_VERSION');
      if (!facts.revision) throw new UsageError(`${input.archive} has no alembic revision`, 'RD_ARCHIVE_FORMAT');
      const chain = chainShape(db);
      if (!chain) throw new UsageError(`${input.archive} has no audit_chain_state: z4j before the authenticated audit chain is not supported`, 'RD_ARCHIVE_FORMAT');
      const st = await stat(input.archive);
      const manifest: Manifest = {
        schemaVersion: 1,
        app: { name: 'z4j', version, schemaRevision: facts.revision },
        archive: { file: basename(input.archive), format: 'sqlite', sha256: await sha256File(input.archive), sizeBytes: st.size, createdAt: st.mtime.toISOString() },
        ...secretsReference(input.secrets),
        expectations: z4jExpectations(facts, chain),
        capture: { tool: 'restore-drill', toolVersion: TOOL_VERSION, capturedAt: new Date().toISOString() },
      };
      if (input.secrets && !input.secrets.get(CHAIN_SECRET_NAME)) {
        throw new UsageError(`${input.secrets.source} has no ${CHAIN_SECRET_NAME}: it is not z4j's secret.env`, 'RD_SECRETS_INVALID');
      }
      return manifest;
    } finally {
      db.close();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
