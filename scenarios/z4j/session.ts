import { z4jSecret } from './secret-env.ts';
import type { DrillContainer, ExecOutcome } from '../../harness/runtime/index.ts';
import type { DrillSession } from '../../harness/profile.ts';
import type { ChainObservation, DataFacts, Probed } from '../../harness/model/types.ts';
import { errorMessage } from '../../harness/errors.ts';
import { CHAIN_SECRET_NAME, chainKey } from './audit-chain.ts';
import { quote } from './parse.ts';
import { requireEmptyDataDir } from '../../harness/drill/data-dir.ts';
import { archiveInContainer, migrateWithTarget, prepareFreshInstall } from './install.ts';
import { runAppChecks, type Z4jObservations, type Z4jObservationTypes } from './app-checks.ts';
import { COUNTED_TABLES, Z4J_HOME } from './tables.ts';
import { secretsHint } from './secrets-hint.ts';
import type { RestoredDatabase, Z4jBackend, Z4jContext, Z4jInspected } from './backend.ts';

/**
 * One z4j drill, whatever the backend (backend.ts: a SQLite file, or a
 * PostgreSQL server): the archive read without trust, a fresh install of the
 * archive's z4j version restored over with z4j's own `restore --force`, then
 * z4j's own checks and the harness's own reading of the restored database.
 * The session observes; what it read is judged by the contract (contract.ts).
 */
export class Z4jSession implements DrillSession<Z4jObservationTypes> {
  readonly #ctx: Z4jContext;
  readonly #backend: Z4jBackend;
  #app: DrillContainer | undefined;
  /** The network z4j reaches its database server on (none for a SQLite file). */
  #network: string | undefined;
  /** What inspect read in the archive (its signed chain state is held against the walk in the compare stage). */
  #archive: Z4jInspected | undefined;
  /** Set by upgrade(): the next probe reads the target version's migrated database. */
  #upgraded = false;
  /** The counted tables' columns as restored (before any upgrade). */
  #columnsAtRestore?: Record<string, string[]>;
  /** The z4j version running in #app: the archive's, or a gate's target after upgrade(). */
  #version: string;
  /** Probes so far (a gate probes twice). */
  #probes = 0;
  /** Where the drill's time went: z4j's own commands, and the harness's own reading of the restored database. */
  readonly timings = { appCommandsMs: 0, restoreMs: 0, harnessReadMs: 0 };

  constructor(ctx: Z4jContext, backend: Z4jBackend) {
    this.#ctx = ctx;
    this.#backend = backend;
    this.#version = ctx.manifest.app.version;
  }

  get #secret(): string | undefined {
    return z4jSecret(this.#ctx.secrets, CHAIN_SECRET_NAME);
  }

  get #hint(): string {
    return secretsHint(this.#ctx.manifest.archive.format);
  }

  async inspect(): Promise<Z4jInspected | undefined> {
    const ctx = this.#ctx;
    const glance = await this.#backend.firstSight?.(ctx);
    if (glance) return glance;
    if (!ctx.secrets) {
      ctx.check({ id: 'inspect.secrets', status: 'fail', reason: `secret material missing: no secrets file was supplied, so the audit chain cannot be verified and z4j cannot run; ${this.#hint}` });
    } else if (!this.#secret) {
      ctx.check({ id: 'inspect.secrets', status: 'fail', reason: `secret material missing: ${ctx.secrets.source} has no ${CHAIN_SECRET_NAME}, so the audit chain cannot be verified; ${this.#hint}` });
    }
    this.#archive = await this.#backend.readArchive(ctx, this.#secret);
    return this.#archive;
  }

  async provision(): Promise<void> {
    const ctx = this.#ctx;
    if (this.#backend.refused?.()) {
      ctx.check({ id: 'provision.refused', status: 'fail', reason: 'nothing was started: inspection found the dump cannot be restored (see inspect)' });
      return;
    }
    if (!ctx.secrets) {
      ctx.check({ id: 'provision.secrets', status: 'fail', reason: `nothing was restored: z4j's CLI refuses to run without its secrets; ${this.#hint}` });
      return;
    }
    if (this.#backend.provisionDatabase) {
      const db = await this.#backend.provisionDatabase(ctx);
      if (!db) return;
      this.#network = db.network;
    }
    const app = (this.#app = await ctx.start({ ...this.#on(), labels: { 'io.restore-drill.role': 'app' } }));
    if (!(await requireEmptyDataDir(ctx, app, Z4J_HOME))) return;
    await prepareFreshInstall(ctx, app, (cmd) => this.#exec(cmd), this.#backend.freshInstall);
  }

  async restore(): Promise<void> {
    const ctx = this.#ctx;
    const r = await this.#exec(['z4j', 'restore', archiveInContainer(ctx), '--force', '--expected-sha256', ctx.manifest.archive.sha256]);
    this.timings.restoreMs = r.durationMs;
    const done = r.exitCode === 0 && /z4j: restore complete/.test(r.stdout) ? this.#backend.restoreCompleted(r) : undefined;
    if (done) {
      ctx.check({ id: 'restore.z4j-restore', status: 'pass', reason: done.reason, ...(done.observed !== undefined ? { observed: done.observed } : {}) });
    } else {
      ctx.check({ id: 'restore.z4j-restore', status: 'fail', reason: `z4j restore failed (exit ${r.exitCode}): ${quote(r.stdout, r.stderr)}`, observed: { exitCode: r.exitCode } });
    }
  }

  async probe(): Promise<Probed<Z4jObservationTypes>> {
    const ctx = this.#ctx;
    const said = await runAppChecks((cmd) => this.#exec(cmd), this.#version);
    const t0 = performance.now();
    const got = await this.#backend.withRestored(ctx, this.#app!, ++this.#probes, (db) => this.#readRestored(db, said));
    this.timings.harnessReadMs += performance.now() - t0;
    if (got.integrityProblems) said.integrityProblems = got.integrityProblems;
    if (got.foreignKeyProblems) said.foreignKeyProblems = got.foreignKeyProblems;
    if (got.unreadable !== undefined) ctx.check({ id: 'probe.read', status: 'fail', reason: `the restored database cannot be read: ${errorMessage(got.unreadable)}` });
    return { ...(got.value ? { restored: got.value } : {}), profile: said };
  }

  /** The harness's own reading of the restored database: counts, fingerprints, revision, and its chain walked with the secret. */
  async #readRestored(db: RestoredDatabase, said: Z4jObservations): Promise<DataFacts> {
    const ctx = this.#ctx;
    const state = await db.chainState();
    const appended = state ? await db.restoreAppendedRows(state.generation, ctx.manifest.archive.sha256) : [];
    said.restoreRows = appended;
    // After a gate's upgrade, content is compared over the columns the restore had: new columns are the migration's.
    const columns = this.#upgraded ? this.#columnsAtRestore : undefined;
    this.#columnsAtRestore ??= await db.tableColumns(COUNTED_TABLES);
    const facts = await db.facts(appended.map((r) => r.id), columns);
    const restored: DataFacts = { counts: facts.counts, fingerprints: facts.fingerprints, ...(facts.revision ? { schemaRevision: facts.revision } : {}) };

    const secret = this.#secret;
    if (!secret || !state) {
      said.chainUnwalked = secret ? 'no-state' : 'no-secret';
      if (this.#backend.chainStateUnwalked) said.chainStates = { ...this.#archiveChainStates(), restored: await db.observeChainState(secret, undefined) };
      return restored;
    }
    const signedWith = await db.signingKeyId?.(state.generation);
    if (signedWith) said.chainSigner = { rowsKeyId: signedWith, secretKeyId: chainKey(secret).id };
    const walked = await db.walk(secret);
    said.chainStates = { ...this.#archiveChainStates(), restored: await db.observeChainState(secret, walked) };
    if (walked) {
      said.walkedRows = walked.length;
      restored.chain = withoutRestoreRows(walked, appended);
    }
    return restored;
  }

  /** The archive's chain state as inspect read it, where the backend reads it there (SQLite). */
  #archiveChainStates(): Pick<NonNullable<Z4jObservations['chainStates']>, 'archiveExpected' | 'archive'> {
    const archive = this.#archive?.inspected?.sqlite?.chain?.state;
    return { archiveExpected: this.#backend.archiveChainState, ...(archive ? { archive } : {}) };
  }

  /**
   * The gate: a z4j container of the target version takes over the restored
   * data (the database file moved into its empty home, or the server both
   * reach) and upgrades it with its own `z4j migrate upgrade head` (what z4j's
   * upgrade notes tell operators to run); probe() then checks it with that version.
   */
  async upgrade(image: string, version: string): Promise<void> {
    const ctx = this.#ctx;
    const from = this.#app!;
    const put = await this.#backend.carryData?.(ctx, from);
    await from.stop();
    const to = (this.#app = await ctx.start({ image, ...this.#on(), labels: { 'io.restore-drill.role': 'upgrade' } }));
    this.#version = version;
    this.#upgraded = true;
    if (!(await requireEmptyDataDir(ctx, to, Z4J_HOME, 'upgrade.data-dir'))) return;
    await put?.(to);
    await migrateWithTarget(ctx, to, (cmd) => this.#exec(cmd), version, this.#backend.migrated);
  }

  #on(): { network?: string } {
    return this.#network ? { network: this.#network } : {};
  }

  async #exec(cmd: string[]): Promise<ExecOutcome> {
    const r = await this.#app!.exec(cmd, { timeoutMs: this.#ctx.execTimeoutMs, env: { Z4J_HOME, TZ: 'UTC', ...this.#backend.env } });
    if (cmd[0] === 'z4j') this.timings.appCommandsMs += r.durationMs;
    return r;
  }
}

/** The chain as the backup had it: the restore's own trailing rows set aside (they were walked too). */
function withoutRestoreRows(chain: ChainObservation, appended: Array<{ prevRowHmac: string | null }>): ChainObservation {
  if (appended.length === 0) return chain;
  return { ...chain, length: chain.length - appended.length, headHmac: appended[0]!.prevRowHmac, verifiedRows: chain.verifiedRows - appended.length };
}
