import type { Contract } from '../../harness/verdict/index.ts';
import type { Manifest } from '../../harness/manifest/schema.ts';
import { judgeApp, type Z4jObservationTypes } from './app-checks.ts';
import { PG_ARCHIVE_FORMAT } from './pg/capture.ts';
import { COUNTED_TABLES, STATUS_LABELS } from './tables.ts';
import { Z4J_CHECK, type Z4jSessionCheckId } from './check-ids.ts';
import type { DataFacts, Finding } from '../../harness/model/types.ts';
import type { Z4jArchiveReading } from './archive-reading.ts';
import { judgeRestoredReading } from './judge-restored.ts';
import { judgeArchiveChain } from './archive-chain.ts';
import { judgeDump } from './pg/judge-dump.ts';

/**
 * What a z4j `passed` rests on: the backup's alembic revision, the secret.env
 * that belongs to it, the audit chain with its length and both ends, and an
 * exact count and content fingerprint of every table z4j counts; z4j's own
 * check, migration head, status and audit verify; the harness's own reading
 * of the restored database and full walk of its chain.
 */
export const z4jContract: Contract<Z4jObservationTypes> = {
  archiveRecordsVersion: true,

  manifestProblems(m: Manifest): string[] {
    const p: string[] = [];
    if (!m.app.schemaRevision) p.push('$.app.schemaRevision: the alembic revision the backup is at is required');
    if (!m.secrets?.fileSha256) p.push("$.secrets.fileSha256: the sha256 of the backup's secret.env is required (capture with --secrets)");
    const c = m.expectations.chain;
    if (!c) p.push('$.expectations.chain: the audit chain (length, head, first link) is required');
    else {
      if (c.table !== 'audit_log') p.push(`$.expectations.chain.table: must be audit_log, not ${JSON.stringify(c.table)}`);
      if (!c.startsAtGenesis && c.firstPrevHmac == null) p.push('$.expectations.chain.firstPrevHmac: a pruned chain must record what its first row links to');
      if (c.length > 0 && c.headHmac === null) p.push('$.expectations.chain.headHmac: a chain with rows must record its head');
    }
    for (const t of COUNTED_TABLES) {
      // Bounds are a manifest feature z4j cannot use: each counted table also has an exact content fingerprint.
      if (typeof m.expectations.counts[t] !== 'number') {
        p.push(`$.expectations.counts.${t}: an exact row count is required${m.expectations.counts[t] === undefined ? '' : " (z4j's tables carry an exact content fingerprint, so a count that may move between bounds would fail on it anyway)"}`);
      }
      if (m.expectations.fingerprints?.[t] === undefined) p.push(`$.expectations.fingerprints.${t}: a content fingerprint is required`);
    }
    return p;
  },

  requiredChecks(m: Manifest): string[] {
    const pg = m.archive.format === PG_ARCHIVE_FORMAT;
    const C = Z4J_CHECK;
    return [
      C.appVersion,
      C.schemaRevision,
      C.secretsFile,
      ...COUNTED_TABLES.flatMap((t) => [`compare.count.${t}`, `compare.fingerprint.${t}`]),
      C.chainWalk,
      C.chainStart,
      C.chainLength,
      C.chainHead,
      C.dataDir,
      C.chainStateRestored,
      ...(pg
        ? [C.inspectPgToc, C.inspectPgServer, C.inspectPgTableData, C.inspectPgData, C.databaseServer, C.targetDb]
        : [C.inspectIntegrity, C.probeIntegrity, C.probeForeignKeys, C.chainStateArchive]),
      C.secretEnv,
      C.freshInstall,
      C.restore,
      C.appCheck,
      C.migrationHead,
      ...Object.values(STATUS_LABELS).map((t) => `${C.status}.${t}`),
      C.auditVerify,
      C.auditVerifyRows,
      C.restoreAuditRow,
    ];
  },

  requiredAfterUpgrade: () => [Z4J_CHECK.migrate, Z4J_CHECK.upgradeChainState, Z4J_CHECK.migrationHead, Z4J_CHECK.auditVerify],

  emptiness(m: Manifest): string[] {
    const out: string[] = [];
    if (m.expectations.chain?.length === 0) out.push('its audit chain has no rows');
    if (m.expectations.counts.users === 0) out.push('it has no users');
    return out;
  },

  // What inspect read in the archive, judged before anything starts (in the inspect stage).
  judgeArchive: (m, seen) => [...(seen.inspected ? judgeArchiveReading(m, seen.inspected) : []), ...(seen.archive ? judgeDumpRows(m, seen.archive) : [])],
  // A file that is not SQLite, or SQLite without z4j's tables: z4j's restore could only refuse it, a container later.
  settledAtInspect: [Z4J_CHECK.inspectSqliteHeader, Z4J_CHECK.inspectTables],

  // What the harness read in the restored database beside its facts, judged in the probe stage (and post-upgrade).
  judgeRestored: (m, seen) => (seen.profile ? judgeRestoredReading(m, seen.profile) : []),

  compareProfile: (m, obs, when) => judgeApp(m, obs, when),
};

/**
 * The archive as the backend read it: a SQLite file's header, z4j's tables
 * and its audit chain against the manifest's; a dump's table of contents,
 * server, data and signer (pg/judge-dump.ts).
 */
export function judgeArchiveReading(m: Manifest, archive: Z4jArchiveReading): Finding<Z4jSessionCheckId>[] {
  const s = archive.sqlite;
  if (!s) return archive.dump ? judgeDump(m, archive.dump.reading, archive.dump.secretKeyId) : [];
  if (!s.header) return [{ id: 'inspect.sqlite-header', status: 'fail', reason: 'the archive is not a SQLite database (no SQLite header): not a z4j SQLite backup; nothing was started' }];
  const problems = s.integrity ?? [];
  if (problems.length > 0) return [{ id: 'inspect.integrity', status: 'fail', reason: `the archive is a damaged SQLite file: ${problems.slice(0, 3).join('; ')}`, observed: problems }];
  const out: Finding<Z4jSessionCheckId>[] = s.integrity ? [{ id: 'inspect.integrity', status: 'pass', reason: 'archive: PRAGMA integrity_check ok' }] : [];
  const missing = s.missingTables ?? [];
  if (missing.length > 0) {
    out.push({ id: 'inspect.z4j-tables', status: 'fail', reason: `the archive is a SQLite database but not z4j's: it has no ${missing.join(', ')} table${missing.length === 1 ? '' : 's'}; nothing was started` });
    return out;
  }
  return s.chain ? [...out, ...judgeArchiveChain(s.chain, m.expectations.chain)] : out;
}

/**
 * The rows a PostgreSQL dump's COPY data holds per table (counted at inspect,
 * without a server) against the manifest's counts: a mismatch is found before
 * any server starts. A table the dump holds no count for is left to the
 * restored database's count (compare.count.*); the SQLite session reports none.
 */
export function judgeDumpRows(m: Manifest, archive: DataFacts): Finding<Z4jSessionCheckId>[] {
  const out: Finding<Z4jSessionCheckId>[] = [];
  for (const [table, expected] of Object.entries(m.expectations.counts)) {
    const n = archive.counts[table];
    if (n === undefined || typeof expected !== 'number' || n === expected) continue;
    out.push({ id: `inspect.pg-rows.${table}`, status: 'fail', reason: `the dump holds ${n} rows of ${table}, the manifest expects ${expected}`, expected, observed: n });
  }
  return out;
}
