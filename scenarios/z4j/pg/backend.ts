import type pg from 'pg';
import type { ExecOutcome } from '../../../harness/runtime/index.ts';
import { POSTGRES_PORT, POSTGRES_SUPERUSER, psql } from '../../../harness/runtime/postgres.ts';
import { connectPg, inSnapshot, startScratchPostgres, userObjects, type PgConnection } from '../../../harness/runtime/pg-kit.ts';
import { errorMessage } from '../../../harness/errors.ts';
import { chainKey } from '../audit-chain.ts';
import type { RestoredDatabase, Z4jBackend } from '../backend.ts';
import { chainSigningKeyId, pgTableColumns, readPgChainState, readPgFacts, restoreAppendedPgRows, walkPgChain } from './facts.ts';
import { inspectDump } from './inspect.ts';
import { observePgChainState } from './chain-state.ts';

/** The drill's database: created empty on the fresh server, checked empty, migrated, restored into. */
export const TARGET_DATABASE = 'z4j';
/** The server's name on the drill's network, as z4j's database URL names it. */
const DB_ALIAS = 'db';

export interface PgBackendOptions {
  /**
   * Runs against the target database after it is created and before it is
   * checked empty. Tests use it to force an unclean target; drills never set it.
   */
  prepareTarget?: (client: pg.Client) => Promise<void>;
}

/**
 * z4j on PostgreSQL: a fresh PostgreSQL server (the drill context's scratch
 * server, harness/runtime/pg-kit.ts) and z4j's container on an internal
 * network only they share, an empty target database (checked empty), and the
 * restored database read with `pg` in one snapshot.
 */
export function pgBackend(opts: PgBackendOptions = {}): Z4jBackend {
  let serverMajor: number | undefined;
  let unrestorable = false;
  let conn: PgConnection | undefined;
  return {
    freshInstall: 'schema',
    migrated: 'database',
    env: { Z4J_DATABASE_URL: `postgresql+asyncpg://${POSTGRES_SUPERUSER}@${DB_ALIAS}:${POSTGRES_PORT}/${TARGET_DATABASE}` },

    archiveChainState: false,
    chainStateUnwalked: false,

    async readArchive(ctx, secret) {
      const reading = await inspectDump(ctx.archive);
      serverMajor = reading.serverMajor;
      unrestorable = reading.unrestorable;
      // What the dump says about itself (its z4j_meta and alembic_version data, the rows its COPY data holds per
      // table), held against the manifest by the contract at inspect; the key id of the secret, never the secret.
      return {
        archive: { counts: reading.rows, fingerprints: {}, ...(reading.appVersion ? { appVersion: reading.appVersion } : {}), ...(reading.revision ? { schemaRevision: reading.revision } : {}) },
        inspected: { dump: { reading, ...(secret ? { secretKeyId: chainKey(secret).id } : {}) } },
      };
    },

    refused: () => unrestorable || serverMajor === undefined,

    async provisionDatabase(ctx) {
      const scratch = await startScratchPostgres(ctx, serverMajor!, { aliases: [DB_ALIAS], role: 'database' });
      const db = scratch.server;
      const version = (await psql(db, 'postgres', 'SHOW server_version')).trim();
      ctx.check({ id: 'provision.database-server', status: 'pass', reason: `fresh PostgreSQL ${version} (${scratch.image.tag}) on internal network ${scratch.network}, shared only with the z4j container` });
      await psql(db, 'postgres', `CREATE DATABASE ${TARGET_DATABASE}`);
      conn = scratch.connection(TARGET_DATABASE);
      const client = await connectPg(conn);
      try {
        await opts.prepareTarget?.(client);
        const objects = await userObjects(client);
        if (objects.length > 0) {
          ctx.check({ id: 'provision.target-db', status: 'fail', reason: `target database ${TARGET_DATABASE} is not empty: it holds ${objects.slice(0, 5).join(', ')}${objects.length > 5 ? ` (+${objects.length - 5} more)` : ''} before the restore; refusing to restore over it`, observed: objects });
          return undefined;
        }
      } finally {
        await client.end();
      }
      ctx.check({ id: 'provision.target-db', status: 'pass', reason: `target database ${TARGET_DATABASE} is empty (no tables, sequences, functions, types or extensions)` });
      return { network: scratch.network };
    },

    restoreCompleted: (r: ExecOutcome) =>
      /backend:\s+postgres/.test(r.stdout) ? { reason: `z4j restore --force completed (postgres backend) in ${(r.durationMs / 1000).toFixed(1)} s`, observed: { seconds: r.durationMs / 1000 } } : undefined,

    async withRestored(ctx, _app, _probe, read) {
      let client: pg.Client;
      try {
        client = await connectPg(conn!);
      } catch (e) {
        ctx.check({ id: 'probe.connect', status: 'error', reason: `the harness cannot connect to the restored database: ${errorMessage(e)}` });
        return {};
      }
      try {
        return { value: await inSnapshot(client, () => read(restoredPg(client))) };
      } catch (e) {
        return { unreadable: e };
      } finally {
        await client.end();
      }
    },
  };
}

/** The restored PostgreSQL database, read with `pg` (in the probe's snapshot). */
function restoredPg(client: pg.Client): RestoredDatabase {
  return {
    chainState: () => readPgChainState(client),
    restoreAppendedRows: (generation, sha) => restoreAppendedPgRows(client, generation, sha),
    tableColumns: (tables) => pgTableColumns(client, tables),
    facts: (ids, columns) => readPgFacts(client, ids, columns),
    signingKeyId: (generation) => chainSigningKeyId(client, generation),
    walk: (secret) => walkPgChain(client, secret),
    observeChainState: (secret, walked) => observePgChainState(client, secret, walked),
  };
}
