import { basename, join } from 'node:path';
import { hasSqliteHeader, privateCopy } from '../../harness/archive/sqlite-file.ts';
import { foreignKeyProblems, integrityProblems, openReadOnly, tableColumns, tableExists } from '../../harness/checks/sqlite-db.ts';
import type { DrillContainer } from '../../harness/runtime/index.ts';
import { errorMessage, DrillError } from '../../harness/errors.ts';
import { readChainState } from './audit-chain.ts';
import { readArchiveChain } from './archive-chain.ts';
import { observeChainState } from './chain-state.ts';
import { integrityLines, readFacts, readRevision, readVersion, restoreAppendedRows, walkZ4jChainFast } from './sqlite-facts.ts';
import { COUNTED_TABLES, Z4J_DB, Z4J_HOME } from './tables.ts';
import type { DataFacts } from '../../harness/model/types.ts';
import type { RestoredDatabase, Z4jBackend, Z4jContext } from './backend.ts';
import type { Z4jArchiveReading } from './archive-reading.ts';

/** Tables every z4j SQLite backup a drill handles has (capture refuses one without them). */
const Z4J_ARCHIVE_TABLES = [...COUNTED_TABLES, 'alembic_version', 'audit_chain_state'];

/** z4j on SQLite: the archive is the database file, restored into the data dir, and copied out to be read. */
export const sqliteBackend = (): Z4jBackend => ({
  freshInstall: 'database',
  migrated: 'data',
  env: {},
  archiveChainState: true,
  chainStateUnwalked: true,

  async firstSight(ctx) {
    // Not SQLite at all: z4j's restore could only refuse it, a container later (the contract says so).
    return (await hasSqliteHeader(ctx.archive)) ? undefined : { inspected: { sqlite: { header: false } } };
  },

  async readArchive(ctx, secret) {
    const copy = await privateCopy(ctx.archive, ctx.workSubdir('archive'));
    const db = openReadOnly(copy);
    const sqlite: NonNullable<Z4jArchiveReading['sqlite']> = { header: true };
    try {
      // A damaged file is read no further (the contract fails it); nor is a sound one of another application.
      sqlite.integrity = integrityLines(db);
      if (sqlite.integrity.length > 0) return { inspected: { sqlite } };
      const missingTables = (sqlite.missingTables = Z4J_ARCHIVE_TABLES.filter((t) => !tableExists(db, t)));
      if (missingTables.length > 0) return { inspected: { sqlite } };
      // What the archive says about itself, held against the manifest by the compare stage (its version at inspect).
      const facts: DataFacts = { counts: {}, fingerprints: {} };
      const version = readVersion(db);
      const revision = readRevision(db);
      if (version) facts.appVersion = version;
      if (revision) facts.schemaRevision = revision;
      if (secret) sqlite.chain = await readArchiveChain(db, copy, secret);
      return { archive: facts, inspected: { sqlite } };
    } catch (e) {
      ctx.check({ id: 'inspect.read', status: 'fail', reason: `the archive cannot be read as a z4j database: ${errorMessage(e)}` });
      // What was read before is still judged (a sound file's integrity); nothing of what it says about itself.
      return sqlite.integrity ? { inspected: { sqlite: { header: true, integrity: sqlite.integrity } } } : undefined;
    } finally {
      db.close();
    }
  },

  restoreCompleted: () => ({ reason: 'z4j restore --force completed' }),

  async withRestored(ctx, app, probe, read) {
    const local = join(ctx.workSubdir(`restored-${probe}`), 'z4j.db');
    await copyDatabaseOut(app, local);
    let db;
    try {
      db = openReadOnly(local);
    } catch (e) {
      ctx.check({ id: 'probe.open', status: 'fail', reason: `the restored database cannot be opened: ${errorMessage(e)}` });
      return {};
    }
    const seen: { integrityProblems?: string[]; foreignKeyProblems?: string[] } = {};
    try {
      const integrity = (seen.integrityProblems = integrityProblems(db));
      // The restored database answered the harness: the recovery time ends here, as it did when this was a check.
      ctx.answered();
      seen.foreignKeyProblems = foreignKeyProblems(db);
      // A damaged database is read no further (the contract fails it).
      if (integrity.length > 0) return seen;
      return { ...seen, value: await read(restoredSqlite(db, local)) };
    } catch (e) {
      return { ...seen, unreadable: e };
    } finally {
      db.close();
    }
  },

  async carryData(ctx, from) {
    const local = join(ctx.workSubdir('upgrade-source'), 'z4j.db');
    const { hasWal } = await copyDatabaseOut(from, local);
    return (to) => to.putFiles([{ target: Z4J_DB, source: local, mode: 0o600 }, ...(hasWal ? [{ target: `${Z4J_DB}-wal`, source: `${local}-wal`, mode: 0o600 }] : [])]);
  },
});

/** A restored SQLite file (a local copy), read with better-sqlite3. */
function restoredSqlite(db: ReturnType<typeof openReadOnly>, file: string): RestoredDatabase {
  return {
    chainState: async () => readChainState(db),
    restoreAppendedRows: async (generation, sha) => restoreAppendedRows(db, generation, sha),
    tableColumns: async (tables) => tableColumns(db, tables),
    facts: async (ids, columns) => readFacts(db, ids, columns),
    walk: (secret) => walkZ4jChainFast(db, file, secret),
    observeChainState: async (secret, walked) => observeChainState(db, secret, walked),
  };
}

/**
 * The data dir's z4j.db, and its -wal when there is one, copied to `local` (and
 * `local`-wal) in one engine call that also lists the folder. A missing or
 * irregular z4j.db is an error, as a failed copy of it is.
 */
async function copyDatabaseOut(app: DrillContainer, local: string): Promise<{ hasWal: boolean }> {
  const db = basename(Z4J_DB);
  const { entries, copied } = await app.copyDirOut(Z4J_HOME, { [db]: local, [`${db}-wal`]: `${local}-wal` });
  if (!copied.includes(db)) throw new DrillError(`${Z4J_DB} in ${app.name} is not a regular file (the data dir holds: ${entries.join(', ') || 'nothing'})`, 'RD_CONTAINER_COMMAND');
  return { hasWal: copied.includes(`${db}-wal`) };
}
