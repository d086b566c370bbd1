import type pg from 'pg';
import { z4jSecret } from '../secret-env.ts';
import type { DrillContainer, ExecOutcome } from '../../../harness/runtime/index.ts';
import { POSTGRES_PORT, POSTGRES_SUPERUSER, psql } from '../../../harness/runtime/postgres.ts';
import type { DrillContext, DrillSession } from '../../../harness/profile.ts';
import type { Z4jSessionCheckId } from '../check-ids.ts';
import type { ChainObservation, DataFacts, Inspected, Probed } from '../../../harness/model/types.ts';
import { errorMessage } from '../../../harness/errors.ts';
import { CHAIN_SECRET_NAME, chainKey } from '../audit-chain.ts';
import { quote } from '../parse.ts';
import { COUNTED_TABLES, Z4J_HOME } from '../tables.ts';
import { runAppChecks, type Z4jObservations, type Z4jObservationTypes } from '../app-checks.ts';
import { chainSigningKeyId, pgTableColumns, readPgChainState, readPgFacts, restoreAppendedPgRows, walkPgChain } from './facts.ts';
import { connectPg, inSnapshot, startScratchPostgres, userObjects, type PgConnection } from '../../../harness/runtime/pg-kit.ts';
import { inspectDump } from './inspect.ts';
import { observePgChainState } from './chain-state.ts';
import { archiveInContainer, migrateWithTarget, prepareFreshInstall } from '../install.ts';
import { requireEmptyDataDir } from '../../../harness/drill/data-dir.ts';

const SECRETS_HINT =
  "z4j's operator docs say to back up secret.env (~/.z4j/secret.env, the only copy of its secrets) together with the database; pass it with --secrets";
/** The drill's database: created empty on the fresh server, checked empty, migrated, restored into. */
export const TARGET_DATABASE = 'z4j';
/** The server's name on the drill's network, as z4j's database URL names it. */
const DB_ALIAS = 'db';

export interface PgSessionOptions {
  /**
   * Runs against the target database after it is created and before it is
   * checked empty. Tests use it to force an unclean target; drills never set it.
   */
  prepareTarget?: (client: pg.Client) => Promise<void>;
}

/**
 * One z4j PostgreSQL drill: a fresh PostgreSQL server and a z4j container on
 * an internal network only they share, an empty target database (checked
 * empty), z4j's own `restore --force`, then z4j's checks and the harness's own
 * reading of the restored database with `pg`.
 */
export class Z4jPgSession implements DrillSession<Z4jObservationTypes> {
  readonly #ctx: DrillContext<Z4jSessionCheckId>;
  readonly #opts: PgSessionOptions;
  #serverMajor: number | undefined;
  #unrestorable = false;
  #app: DrillContainer | undefined;
  #db: DrillContainer | undefined;
  /** The drill's private network, shared by the database server and the application only. */
  #network: string | undefined;
  #conn: PgConnection | undefined;
  /** Set by upgrade(): the next probe reads the target version's migrated database. */
  #upgraded = false;
  /** The counted tables' columns as restored (before any upgrade). */
  #columnsAtRestore?: Record<string, string[]>;
  /** The z4j version running in #app: the archive's, or a gate's target after upgrade(). */
  #version: string;
  /** Where the drill's time went: z4j's own commands, and the harness's own reading of the restored database. */
  readonly timings = { appCommandsMs: 0, restoreMs: 0, harnessReadMs: 0 };

  constructor(ctx: DrillContext<Z4jSessionCheckId>, opts: PgSessionOptions = {}) {
    this.#ctx = ctx;
    this.#opts = opts;
    this.#version = ctx.manifest.app.version;
  }

  get #secret(): string | undefined {
    return z4jSecret(this.#ctx.secrets, CHAIN_SECRET_NAME);
  }

  async inspect(): Promise<Inspected<Z4jObservationTypes>> {
    const archive = await this.#readArchive();
    return archive ? { archive } : {};
  }

  /** What the archive says about itself (DataFacts), for the harness and the contract. */
  async #readArchive(): Promise<DataFacts | undefined> {
    const ctx = this.#ctx;
    if (!ctx.secrets) {
      ctx.check({ id: 'inspect.secrets', status: 'fail', reason: `secret material missing: no secrets file was supplied, so the audit chain cannot be verified and z4j cannot run; ${SECRETS_HINT}` });
    } else if (!this.#secret) {
      ctx.check({ id: 'inspect.secrets', status: 'fail', reason: `secret material missing: ${ctx.secrets.source} has no ${CHAIN_SECRET_NAME}, so the audit chain cannot be verified; ${SECRETS_HINT}` });
    }
    const found = await inspectDump(ctx.archive, ctx.manifest);
    for (const f of found.findings) ctx.check(f);
    const secret = this.#secret;
    if (secret && found.chainStateKeyId) {
      // The key id the chain's signed state names, read from the dump itself: a
      // wrong secret.env is named as such before z4j's restore refuses it.
      const key = chainKey(secret);
      ctx.check(
        key.id === found.chainStateKeyId
          ? { id: 'inspect.secret-key', status: 'pass', reason: "the secret's key id is the one the dump's audit chain state was signed with" }
          : {
              id: 'inspect.secret-key',
              status: 'fail',
              reason: `the secret supplied is not the one that signed this audit chain: its key id is ${key.id.slice(0, 12)}…, the dump's chain state was signed with key id ${found.chainStateKeyId.slice(0, 12)}… (the data is not corrupt; find the secret.env of the install that made this backup)`,
              expected: found.chainStateKeyId,
              observed: key.id,
            },
      );
    }
    this.#serverMajor = found.serverMajor;
    this.#unrestorable = found.unrestorable;
    // What the dump says about itself (its z4j_meta and alembic_version data, the rows its COPY data holds per table),
    // held against the manifest by the contract: the rows at inspect (judgeArchive), the version and revision then too.
    return { counts: found.rows, fingerprints: {}, ...(found.appVersion ? { appVersion: found.appVersion } : {}), ...(found.revision ? { schemaRevision: found.revision } : {}) };
  }

  async provision(): Promise<void> {
    const ctx = this.#ctx;
    if (this.#unrestorable || this.#serverMajor === undefined) {
      ctx.check({ id: 'provision.refused', status: 'fail', reason: 'nothing was started: inspection found the dump cannot be restored (see inspect)' });
      return;
    }
    if (!ctx.secrets) {
      ctx.check({ id: 'provision.secrets', status: 'fail', reason: `nothing was restored: z4j's CLI refuses to run without its secrets; ${SECRETS_HINT}` });
      return;
    }
    const scratch = await startScratchPostgres(ctx, this.#serverMajor, { aliases: [DB_ALIAS], role: 'database' });
    const db = (this.#db = scratch.server);
    const network = (this.#network = scratch.network);
    this.#app = await ctx.start({ network, labels: { 'io.restore-drill.role': 'app' } });
    const version = (await psql(db, 'postgres', 'SHOW server_version')).trim();
    ctx.check({ id: 'provision.database-server', status: 'pass', reason: `fresh PostgreSQL ${version} (${scratch.image.tag}) on internal network ${network}, shared only with the z4j container` });

    await psql(db, 'postgres', `CREATE DATABASE ${TARGET_DATABASE}`);
    this.#conn = scratch.connection(TARGET_DATABASE);
    const client = await connectPg(this.#conn);
    try {
      await this.#opts.prepareTarget?.(client);
      const objects = await userObjects(client);
      if (objects.length > 0) {
        ctx.check({ id: 'provision.target-db', status: 'fail', reason: `target database ${TARGET_DATABASE} is not empty: it holds ${objects.slice(0, 5).join(', ')}${objects.length > 5 ? ` (+${objects.length - 5} more)` : ''} before the restore; refusing to restore over it`, observed: objects });
        return;
      }
    } finally {
      await client.end();
    }
    ctx.check({ id: 'provision.target-db', status: 'pass', reason: `target database ${TARGET_DATABASE} is empty (no tables, sequences, functions, types or extensions)` });

    if (!(await requireEmptyDataDir(ctx, this.#app, Z4J_HOME))) return;
    await prepareFreshInstall(ctx, this.#app, (cmd) => this.#exec(cmd), 'schema');
  }

  async restore(): Promise<void> {
    const ctx = this.#ctx;
    const r = await this.#exec(['z4j', 'restore', archiveInContainer(ctx), '--force', '--expected-sha256', ctx.manifest.archive.sha256]);
    this.timings.restoreMs = r.durationMs;
    if (r.exitCode === 0 && /z4j: restore complete/.test(r.stdout) && /backend:\s+postgres/.test(r.stdout)) {
      ctx.check({ id: 'restore.z4j-restore', status: 'pass', reason: `z4j restore --force completed (postgres backend) in ${(r.durationMs / 1000).toFixed(1)} s`, observed: { seconds: r.durationMs / 1000 } });
    } else {
      ctx.check({ id: 'restore.z4j-restore', status: 'fail', reason: `z4j restore failed (exit ${r.exitCode}): ${quote(r.stdout, r.stderr)}`, observed: { exitCode: r.exitCode } });
    }
  }

  async probe(): Promise<Probed<Z4jObservationTypes>> {
    const ctx = this.#ctx;
    const said = await runAppChecks((cmd) => this.#exec(cmd), this.#version);
    let client: pg.Client;
    try {
      client = await connectPg(this.#conn!);
    } catch (e) {
      ctx.check({ id: 'probe.connect', status: 'error', reason: `the harness cannot connect to the restored database: ${errorMessage(e)}` });
      return { profile: said };
    }
    const t0 = performance.now();
    try {
      const restored = await inSnapshot(client, () => this.#readRestored(client, said));
      return { restored, profile: said };
    } catch (e) {
      ctx.check({ id: 'probe.read', status: 'fail', reason: `the restored database cannot be read: ${errorMessage(e)}` });
      return { profile: said };
    } finally {
      await client.end();
      this.timings.harnessReadMs += performance.now() - t0;
    }
  }

  /** The harness's own reading of the restored database, in one snapshot. */
  async #readRestored(client: pg.Client, said: Z4jObservations): Promise<DataFacts> {
    const ctx = this.#ctx;
    const state = await readPgChainState(client);
    const appended = state ? await restoreAppendedPgRows(client, state.generation, ctx.manifest.archive.sha256) : [];
    said.restoreRows = appended;
    // After a gate's upgrade, content is compared over the columns the restore had: new columns are the migration's.
    const columns = this.#upgraded ? this.#columnsAtRestore : undefined;
    this.#columnsAtRestore ??= await pgTableColumns(client, COUNTED_TABLES);
    const facts = await readPgFacts(client, appended.map((r) => r.id), columns);
    const restored: DataFacts = { counts: facts.counts, fingerprints: facts.fingerprints, ...(facts.revision ? { schemaRevision: facts.revision } : {}) };
    const secret = this.#secret;
    if (!state) {
      ctx.check({ id: 'probe.chain', status: 'fail', reason: 'the restored database has no audit_chain_state: the audit chain cannot be walked' });
      return restored;
    }
    if (!secret) {
      ctx.check({ id: 'probe.chain', status: 'fail', reason: `secret material missing: the audit chain cannot be verified; ${SECRETS_HINT}` });
      return restored;
    }
    const signedWith = await chainSigningKeyId(client, state.generation);
    const key = chainKey(secret);
    if (signedWith && signedWith !== key.id) {
      ctx.check({
        id: 'probe.secret-key',
        status: 'fail',
        reason: `the secret supplied is not the one that signed this audit chain: its key id is ${key.id.slice(0, 12)}…, the chain's rows were signed with key id ${signedWith.slice(0, 12)}… (the data is not corrupt; find the secret.env of the install that made this backup)`,
        expected: signedWith,
        observed: key.id,
      });
    }
    const walked = await walkPgChain(client, secret);
    said.chainStates = { archiveExpected: false, restored: await observePgChainState(client, secret, walked) };
    if (walked) {
      said.walkedRows = walked.length;
      restored.chain = withoutRestoreRows(walked, appended);
    }
    return restored;
  }

  /**
   * The gate: a z4j container of the target version joins the drill's private
   * network and upgrades the restored database in place with its own
   * `z4j migrate upgrade head`; probe() then checks it with that version.
   */
  async upgrade(image: string, version: string): Promise<void> {
    const ctx = this.#ctx;
    await this.#app!.stop();
    const app = (this.#app = await ctx.start({ image, network: this.#network!, labels: { 'io.restore-drill.role': 'upgrade' } }));
    this.#version = version;
    this.#upgraded = true;
    if (!(await requireEmptyDataDir(ctx, app, Z4J_HOME, 'upgrade.data-dir'))) return;
    await migrateWithTarget(ctx, app, (cmd) => this.#exec(cmd), version, 'database');
  }

  async #exec(cmd: string[]): Promise<ExecOutcome> {
    const url = `postgresql+asyncpg://${POSTGRES_SUPERUSER}@${DB_ALIAS}:${POSTGRES_PORT}/${TARGET_DATABASE}`;
    const r = await this.#app!.exec(cmd, { timeoutMs: this.#ctx.execTimeoutMs, env: { Z4J_HOME, TZ: 'UTC', Z4J_DATABASE_URL: url } });
    if (cmd[0] === 'z4j') this.timings.appCommandsMs += r.durationMs;
    return r;
  }
}

/** The chain as the backup had it: the restore's own trailing rows set aside (they were walked too). */
function withoutRestoreRows(chain: ChainObservation, appended: Array<{ prevRowHmac: string | null }>): ChainObservation {
  if (appended.length === 0) return chain;
  return { ...chain, length: chain.length - appended.length, headHmac: appended[0]!.prevRowHmac, verifiedRows: chain.verifiedRows - appended.length };
}
