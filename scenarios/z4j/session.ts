import { basename, join } from 'node:path';
import { z4jSecret } from './secret-env.ts';
import { hasSqliteHeader, privateCopy } from '../../harness/archive/sqlite-file.ts';
import { foreignKeyProblems, integrityProblems, openReadOnly, tableColumns, tableExists } from '../../harness/checks/sqlite-db.ts';
import type { DrillContainer, ExecOutcome } from '../../harness/runtime/index.ts';
import type { DrillContext, DrillSession } from '../../harness/profile.ts';
import type { Z4jSessionCheckId } from './check-ids.ts';
import type { ChainObservation, DataFacts, Inspected, Probed } from '../../harness/model/types.ts';
import { errorMessage, DrillError } from '../../harness/errors.ts';
import { CHAIN_SECRET_NAME, readChainState } from './audit-chain.ts';
import { quote } from './parse.ts';
import { readArchiveChain } from './archive-chain.ts';
import { requireEmptyDataDir } from '../../harness/drill/data-dir.ts';
import { archiveInContainer, migrateWithTarget, prepareFreshInstall } from './install.ts';
import { runAppChecks, type Z4jObservations, type Z4jObservationTypes } from './app-checks.ts';
import { integrityLines, readFacts, readRevision, readVersion, restoreAppendedRows, walkZ4jChainFast } from './sqlite-facts.ts';
import { COUNTED_TABLES, Z4J_DB, Z4J_HOME } from './tables.ts';
import { observeChainState, type ChainStateObservation } from './chain-state.ts';

/** Tables every z4j SQLite backup a drill handles has (capture refuses one without them). */
const Z4J_ARCHIVE_TABLES = [...COUNTED_TABLES, 'alembic_version', 'audit_chain_state'];

const SECRETS_HINT =
  "z4j's operator docs say to back up secret.env (~/.z4j/secret.env, the only copy of its auto-minted secrets) together with the database; pass it with --secrets";

/** One z4j SQLite drill: the archive restored by z4j's own CLI in a fresh container. */
export class Z4jSqliteSession implements DrillSession<Z4jObservationTypes> {
  readonly #ctx: DrillContext<Z4jSessionCheckId>;
  #app: DrillContainer | undefined;
  /** Set by upgrade(): the next probe reads the target version's migrated database. */
  #upgraded = false;
  /** The counted tables' columns as restored (before any upgrade). */
  #columnsAtRestore?: Record<string, string[]>;
  /** The z4j version running in #app: the archive's, or the gate's target after upgrade(). */
  #version: string;
  /** Probes so far (a gate probes twice): each copies the database into a folder of its own. */
  #probes = 0;
  /** The archive's chain against its signed state, read at inspect and judged in the compare stage. */
  #archiveState: ChainStateObservation | undefined;

  constructor(ctx: DrillContext<Z4jSessionCheckId>) {
    this.#ctx = ctx;
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
    if (!(await hasSqliteHeader(ctx.archive))) {
      // Settled: z4j's restore could only refuse it, a container later.
      ctx.check({ id: 'inspect.sqlite-header', status: 'fail', reason: 'the archive is not a SQLite database (no SQLite header): not a z4j SQLite backup; nothing was started' }, { stop: true });
      return undefined;
    }
    if (!ctx.secrets) {
      ctx.check({ id: 'inspect.secrets', status: 'fail', reason: `secret material missing: no secrets file was supplied, so the audit chain cannot be verified and z4j cannot run; ${SECRETS_HINT}` });
    } else if (!this.#secret) {
      ctx.check({ id: 'inspect.secrets', status: 'fail', reason: `secret material missing: ${ctx.secrets.source} has no ${CHAIN_SECRET_NAME}, so the audit chain cannot be verified; ${SECRETS_HINT}` });
    }
    const copy = await privateCopy(ctx.archive, ctx.workSubdir('archive'));
    const db = openReadOnly(copy);
    // What the archive says about itself, held against the manifest in the compare stage.
    const facts: DataFacts = { counts: {}, fingerprints: {} };
    try {
      const problems = integrityLines(db);
      if (problems.length > 0) {
        ctx.check({ id: 'inspect.integrity', status: 'fail', reason: `the archive is a damaged SQLite file: ${problems.slice(0, 3).join('; ')}`, observed: problems });
        return undefined;
      }
      ctx.check({ id: 'inspect.integrity', status: 'pass', reason: 'archive: PRAGMA integrity_check ok' });
      // A sound SQLite file of another application: z4j's restore could only refuse it, a container later.
      const missing = Z4J_ARCHIVE_TABLES.filter((t) => !tableExists(db, t));
      if (missing.length > 0) {
        ctx.check({ id: 'inspect.z4j-tables', status: 'fail', reason: `the archive is a SQLite database but not z4j's: it has no ${missing.join(', ')} table${missing.length === 1 ? '' : 's'}; nothing was started` }, { stop: true });
        return undefined;
      }
      const version = readVersion(db);
      const revision = readRevision(db);
      if (version) facts.appVersion = version;
      if (revision) facts.schemaRevision = revision;
      const secret = this.#secret;
      if (!secret) return facts;
      const read = await readArchiveChain(db, copy, secret, ctx.manifest.expectations.chain);
      for (const f of read.findings) ctx.check(f);
      this.#archiveState = read.state;
      return facts;
    } catch (e) {
      ctx.check({ id: 'inspect.read', status: 'fail', reason: `the archive cannot be read as a z4j database: ${errorMessage(e)}` });
      return undefined;
    } finally {
      db.close();
    }
  }

  async provision(): Promise<void> {
    const ctx = this.#ctx;
    if (!ctx.secrets) {
      ctx.check({ id: 'provision.secrets', status: 'fail', reason: `nothing was restored: z4j's CLI refuses to run without its secrets; ${SECRETS_HINT}` });
      return;
    }
    const app = (this.#app = await ctx.start({ labels: { 'io.restore-drill.role': 'app' } }));
    if (!(await requireEmptyDataDir(ctx, app, Z4J_HOME))) return;
    await prepareFreshInstall(ctx, app, (cmd) => this.#exec(cmd), 'database');
  }

  async restore(): Promise<void> {
    const ctx = this.#ctx;
    const r = await this.#exec(['z4j', 'restore', archiveInContainer(ctx), '--force', '--expected-sha256', ctx.manifest.archive.sha256]);
    if (r.exitCode === 0 && /z4j: restore complete/.test(r.stdout)) {
      ctx.check({ id: 'restore.z4j-restore', status: 'pass', reason: 'z4j restore --force completed' });
    } else {
      ctx.check({ id: 'restore.z4j-restore', status: 'fail', reason: `z4j restore failed (exit ${r.exitCode}): ${quote(r.stdout, r.stderr)}`, observed: { exitCode: r.exitCode } });
    }
  }

  async probe(): Promise<Probed<Z4jObservationTypes>> {
    const said = await runAppChecks((cmd) => this.#exec(cmd), this.#version);
    const restored = await this.#probeDatabase(said);
    return { ...(restored ? { restored } : {}), profile: said };
  }

  /** The harness's own reading of the restored database, copied out of the container. */
  async #probeDatabase(said: Z4jObservations): Promise<DataFacts | undefined> {
    const ctx = this.#ctx;
    const app = this.#app!;
    const local = join(ctx.workSubdir(`restored-${++this.#probes}`), 'z4j.db');
    await copyDatabaseOut(app, local);
    let db;
    try {
      db = openReadOnly(local);
    } catch (e) {
      ctx.check({ id: 'probe.open', status: 'fail', reason: `the restored database cannot be opened: ${errorMessage(e)}` });
      return undefined;
    }
    try {
      const integrity = integrityProblems(db);
      ctx.check(
        integrity.length === 0
          ? { id: 'probe.integrity', status: 'pass', reason: 'restored database: PRAGMA integrity_check ok' }
          : { id: 'probe.integrity', status: 'fail', reason: `restored database fails PRAGMA integrity_check: ${integrity.slice(0, 3).join('; ')}`, observed: integrity },
      );
      const fk = foreignKeyProblems(db);
      ctx.check(
        fk.length === 0
          ? { id: 'probe.foreign-keys', status: 'pass', reason: 'restored database: PRAGMA foreign_key_check clean' }
          : { id: 'probe.foreign-keys', status: 'fail', reason: `restored database has broken references: ${fk.slice(0, 3).join('; ')}`, observed: fk },
      );
      if (integrity.length > 0) return undefined;

      const state = readChainState(db);
      const appended = state ? restoreAppendedRows(db, state.generation, ctx.manifest.archive.sha256) : [];
      said.restoreRows = appended;
      // After a gate's upgrade, content is compared over the columns the restore had: new columns are the migration's.
      const columns = this.#upgraded ? this.#columnsAtRestore : undefined;
      this.#columnsAtRestore ??= tableColumns(db, COUNTED_TABLES);
      const facts = readFacts(db, appended.map((r) => r.id), columns);
      const restored: DataFacts = { counts: facts.counts, fingerprints: facts.fingerprints, ...(facts.revision ? { schemaRevision: facts.revision } : {}) };

      const secret = this.#secret;
      const walked = secret ? await walkZ4jChainFast(db, local, secret) : undefined;
      said.chainStates = { archiveExpected: true, ...(this.#archiveState ? { archive: this.#archiveState } : {}), restored: observeChainState(db, secret, walked) };
      if (walked) {
        said.walkedRows = walked.length;
        restored.chain = withoutRestoreRows(walked, appended);
      } else if (!secret) ctx.check({ id: 'probe.chain', status: 'fail', reason: `secret material missing: the audit chain cannot be verified; ${SECRETS_HINT}` });
      else ctx.check({ id: 'probe.chain', status: 'fail', reason: 'the restored database has no audit_chain_state: the audit chain cannot be walked' });
      return restored;
    } catch (e) {
      ctx.check({ id: 'probe.read', status: 'fail', reason: `the restored database cannot be read: ${errorMessage(e)}` });
      return undefined;
    } finally {
      db.close();
    }
  }

  /**
   * The gate: the restored database, exactly as z4j restored it, goes into a
   * fresh container of the target version, which upgrades it with its own
   * `z4j migrate upgrade head` (what z4j's upgrade notes tell operators to run).
   */
  async upgrade(image: string, version: string): Promise<void> {
    const ctx = this.#ctx;
    const from = this.#app!;
    const local = join(ctx.workSubdir('upgrade-source'), 'z4j.db');
    const { hasWal } = await copyDatabaseOut(from, local);
    await from.stop();

    const to = (this.#app = await ctx.start({ image, labels: { 'io.restore-drill.role': 'upgrade' } }));
    this.#version = version;
    this.#upgraded = true;
    if (!(await requireEmptyDataDir(ctx, to, Z4J_HOME, 'upgrade.data-dir'))) return;
    await to.putFiles([{ target: Z4J_DB, source: local, mode: 0o600 }, ...(hasWal ? [{ target: `${Z4J_DB}-wal`, source: `${local}-wal`, mode: 0o600 }] : [])]);
    await migrateWithTarget(ctx, to, (cmd) => this.#exec(cmd), version, 'data');
  }

  #exec(cmd: string[]): Promise<ExecOutcome> {
    return this.#app!.exec(cmd, { timeoutMs: this.#ctx.execTimeoutMs, env: { Z4J_HOME, TZ: 'UTC' } });
  }
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

/** The chain as the backup had it: the restore's own trailing rows set aside (they were walked too). */
function withoutRestoreRows(chain: ChainObservation, appended: Array<{ prevRowHmac: string | null }>): ChainObservation {
  if (appended.length === 0) return chain;
  return { ...chain, length: chain.length - appended.length, headHmac: appended[0]!.prevRowHmac, verifiedRows: chain.verifiedRows - appended.length };
}

