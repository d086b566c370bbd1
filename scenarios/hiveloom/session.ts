import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DrillContainer, ExecOutcome } from '../../harness/runtime/index.ts';
import type { DrillContext, DrillSession } from '../../harness/profile.ts';
import type { HiveloomObservationTypes, HiveloomProvisioned } from './contract.ts';
import type { HiveloomSessionCheckId } from './check-ids.ts';
import type { Inspected, Probed } from '../../harness/model/types.ts';
import type { HiveloomObservations } from './app-checks.ts';
import { fileIntegrityProblems } from '../../harness/checks/sqlite-db.ts';
import { errorMessage } from '../../harness/errors.ts';
import { requireEmptyDataDir } from '../../harness/drill/data-dir.ts';
import { openArchive, refusal, type OpenedArchive } from './archive.ts';
import { decryptFailure, ignoredNote, readFacts, storeDisagreements, type HiveloomFacts } from './facts.ts';
import { DATA_DIR, DRILL_DIR, PORT, key, storePath, type BackupJson, defaultTenantScopeReason, FRESH_SERVER_TENANT } from './layout.ts';
import { agentListsScript, splitAgentLists } from './agent-lists.ts';
import { parseRestore, parseTenantList, parseVersion, quote } from './parse.ts';

const ARCHIVE_IN = `${DRILL_DIR}/archive.tar.gz`;

/** The restored data dir as read at rest: every regular file's mode by path, and which of them were copied out. */
interface RestoredTree {
  files: Map<string, number>;
  copied: Set<string>;
}
const ENV = { HIVELOOM_DATA_DIR: DATA_DIR, HIVELOOM_ENDPOINT: `http://127.0.0.1:${PORT}`, TZ: 'UTC' };

/**
 * One Hiveloom drill. The operator's procedure (fresh host, same version,
 * restore into an empty data dir, doctor, tenant and agent counts) adapted to
 * what 0.2.0 really does: restore is done by the running server (so a server
 * is started on the empty data dir first), it merges over the live dir, and the
 * key is read only at start-up (so the server is restarted after the restore).
 */
export class HiveloomSession implements DrillSession<HiveloomObservationTypes> {
  readonly #ctx: DrillContext<HiveloomSessionCheckId>;
  #archive: OpenedArchive | undefined;
  #app: DrillContainer | undefined;
  #serverPid: string | undefined;
  #serves = 0;

  constructor(ctx: DrillContext<HiveloomSessionCheckId>) {
    this.#ctx = ctx;
  }

  get #backup(): BackupJson {
    return this.#archive!.backup!;
  }

  async inspect(): Promise<Inspected<HiveloomObservationTypes>> {
    await this.#inspect();
    // Hiveloom archives record no version, nothing else about themselves the manifest does not hold.
    return {};
  }

  async #inspect(): Promise<void> {
    const ctx = this.#ctx;
    const a = (this.#archive = await openArchive(ctx.archive, ctx.workSubdir('archive')));
    for (const f of a.refused) {
      ctx.check({ id: `inspect.entry.${f.problem}`, status: 'fail', reason: refusal(f), observed: f.entry });
    }
    if (a.refused.length > 0) return;
    ctx.check({ id: 'inspect.entries', status: 'pass', reason: 'every entry stays inside the target folder, no links out, no device files, sizes and compression ratio within bounds' });
    for (const p of a.layout) ctx.check({ id: 'inspect.layout', status: 'fail', reason: `not a Hiveloom archive as 0.2.0 writes them: ${p}` });
    if (!a.backup) return;
    ctx.check({ id: 'inspect.backup-json', status: 'pass', reason: `backup.json: ${a.backup.scope} scope${a.backup.tenant ? ` (tenant ${a.backup.tenant.slug})` : ''}, taken ${a.backup.created_at}` });
    if (a.masterKey && a.masterKey.length !== 32) {
      ctx.check({ id: 'inspect.master-key', status: 'fail', reason: `data/master.key is ${a.masterKey.length} bytes; Hiveloom refuses to start with a key that is not 32 bytes` });
    }
    for (const d of a.databases) {
      for (const p of d.walProblems) {
        ctx.check({ id: 'inspect.wal', status: 'fail', reason: `data/${d.file}-wal is inconsistent with data/${d.file}: ${p}`, observed: d.file });
      }
      ctx.check(
        d.integrity.length === 0
          ? { id: 'inspect.integrity', status: 'pass', reason: `data/${d.file}: PRAGMA integrity_check ok${d.hasWal ? ' (with its WAL)' : ''}` }
          : { id: 'inspect.integrity', status: 'fail', reason: `data/${d.file} fails PRAGMA integrity_check: ${d.integrity.slice(0, 3).join('; ')}`, observed: d.integrity },
      );
    }
    // The archive's own key against the archive's own credentials, before anything runs.
    if (a.masterKey?.length === 32 && a.databases.every((d) => d.integrity.length === 0)) {
      try {
        const facts = readFacts(a.dataRoot, a.backup, a.masterKey, { strayStores: true });
        for (const p of facts.problems) ctx.check({ id: 'inspect.tenants', status: 'fail', reason: `archive: ${p}` });
        for (const p of storeDisagreements(ctx.manifest.expectations.counts, facts, 'the archive')) ctx.check({ id: 'inspect.tenant-store', status: 'fail', reason: p });
        if (facts.ignored.length > 0) ctx.note(ignoredNote(facts.ignored));
        const bad = facts.decrypt && decryptFailure(facts.decrypt);
        if (bad) ctx.check({ id: 'inspect.decrypt', status: 'fail', reason: `archive: ${bad}`, observed: { failed: facts.decrypt!.failures.length, total: facts.decrypt!.total } });
      } catch (e) {
        ctx.check({ id: 'inspect.read', status: 'fail', reason: `the archive's databases cannot be read: ${errorMessage(e)}` });
      }
    }
  }

  async provision(): Promise<HiveloomProvisioned | undefined> {
    const ctx = this.#ctx;
    const a = this.#archive;
    if (!a || a.refused.length > 0 || !a.backup) {
      const why = a?.refused.length ? a.refused.map((f) => `"${f.entry}"`).join(', ') : 'it is not a readable Hiveloom archive';
      ctx.check({ id: 'provision.refused', status: 'fail', reason: `nothing was started: the archive was refused at inspect (${why})` });
      return;
    }
    this.#app = await ctx.start({ labels: { 'io.restore-drill.role': 'app' } });
    if (!(await requireEmptyDataDir(ctx, this.#app, DATA_DIR))) return;
    // What the binary says it is; the contract holds it to the manifest (provision.version), and the pipeline stops on anything but a pass.
    const v = await this.#exec(['hiveloom', 'version']);
    const version = parseVersion(v.stdout);
    const binary = { exitCode: v.exitCode, stdout: v.stdout, stderr: v.stderr, ...(version ? { version } : {}) };
    if (v.exitCode !== 0 || !version) return { binary };
    await this.#exec(['install', '-d', '-m', '0700', DRILL_DIR]);
    await this.#app.copyIn(ctx.archive, ARCHIVE_IN, 0o600);
    return { binary };
  }

  async restore(): Promise<void> {
    const ctx = this.#ctx;
    // 1. `hiveloom backup restore` is a request to the running server: start one on the empty dir.
    if (!(await this.#startServer('restore.first-start', 'error'))) return;
    const freshKey = await this.#exec(['sha256sum', `${DATA_DIR}/master.key`]);
    this.#freshKeyDigest = freshKey.exitCode === 0 ? freshKey.stdout.split(' ')[0] : undefined;
    const before = new Set((await this.#exec(['find', DATA_DIR, '-type', 'f'])).stdout.split('\n').filter(Boolean));

    // 2. The restore itself, as the operator docs say.
    const r = await this.#exec(['hiveloom', 'backup', 'restore', '--input', ARCHIVE_IN, '--json']);
    const parsed = parseRestore(r.stdout);
    if (r.exitCode !== 0 || !parsed || parsed.status !== 'restored') {
      const slug = this.#backup.scope === 'tenant' ? this.#backup.tenant?.slug : undefined;
      // Explained only when Hiveloom's own words show the collision: the archive's backup.json alone does not decide the reason.
      if (slug === FRESH_SERVER_TENANT && /UNIQUE constraint failed: tenants\.slug/.test(`${r.stdout}\n${r.stderr}`)) {
        // The raw SQL error goes to `observed`, the reason says what it means.
        ctx.check({ id: 'restore.hiveloom-restore', status: 'fail', reason: `hiveloom backup restore failed (exit ${r.exitCode}): ${defaultTenantScopeReason(slug)}`, observed: { exitCode: r.exitCode, output: quote(r.stdout, r.stderr) } });
        return;
      }
      ctx.check({ id: 'restore.hiveloom-restore', status: 'fail', reason: `hiveloom backup restore failed (exit ${r.exitCode}): ${quote(r.stdout, r.stderr)}`, observed: { exitCode: r.exitCode } });
      return;
    }
    if (parsed.scope !== this.#backup.scope) {
      ctx.check({ id: 'restore.hiveloom-restore', status: 'fail', reason: `hiveloom restored a ${parsed.scope ?? 'unnamed'}-scope backup, backup.json says ${this.#backup.scope}` });
      return;
    }
    ctx.check({ id: 'restore.hiveloom-restore', status: 'pass', reason: `hiveloom backup restore --input: ${parsed.status} (${parsed.scope} scope${parsed.tenant ? `, tenant ${parsed.tenant}` : ''})` });

    // 3. Stop it (SIGTERM, as systemctl stop does), then drop what the first
    // start left that would be replayed over the restored files: a -wal/-shm
    // beside a database the archive replaced but whose WAL it did not carry.
    await this.#stopServer();
    const archived = new Set(this.#archive!.files.map((f) => `${DATA_DIR}/${f}`));
    for (const db of this.#archive!.databases) {
      const main = `${DATA_DIR}/${db.file}`;
      if (this.#backup.scope === 'tenant' && db.file === 'platform.db') continue;
      for (const side of ['-wal', '-shm']) {
        const p = `${main}${side}`;
        if (before.has(p) && !archived.has(p)) {
          await this.#exec(['rm', '-f', p]);
          ctx.check({ id: 'restore.stale-sidecar', status: 'pass', reason: `removed ${db.file}${side} left by the first start: the archive has none, and SQLite would replay it over the restored ${db.file}` });
        }
      }
    }

    // 4. Start again: Hiveloom reads master.key only at start-up.
    if (!(await this.#startServer('restore.restart', 'fail'))) return;
    ctx.check({ id: 'restore.restart', status: 'pass', reason: 'hiveloom serve restarted on the restored data (the restored master.key is read at start-up) and /healthz answers' });
  }

  #freshKeyDigest: string | undefined;

  /**
   * The restored data read at rest: the server is stopped (its scheduler opens
   * and closes stores, and SQLite deletes a store's -wal when its last
   * connection closes, so files read one by one from a running server race with
   * it) and the whole data dir is read in one engine call. Then the server is
   * started again for Hiveloom's own listings, which come after the files were
   * read because `agent list` creates a missing store.
   */
  async probe(): Promise<Probed<HiveloomObservationTypes>> {
    const said: HiveloomObservations = { backup: this.#backup, agentLists: {} };
    said.doctor = await this.#exec(['hiveloom', 'doctor', '--data-dir', DATA_DIR, '--json']);
    // The restored application's first answer: the recovery time ends here (harness/drill/recovery-time.ts).
    this.#ctx.answered();
    if (!(await this.#stopServer())) {
      this.#ctx.check({ id: 'probe.at-rest', status: 'error', reason: `hiveloom serve (pid ${this.#serverPid}) did not end on SIGTERM or SIGKILL: the restored files cannot be read at rest` });
      return { profile: said };
    }
    const local = this.#ctx.workSubdir('restored');
    const read = await this.#readDataDir(local);
    const key = this.#probeMasterKey(read, local);
    const facts = this.#probeFiles(read, local, key);
    if (await this.#startServer('probe.serve', 'error', 'again after the files were read')) await this.#probeAppCounts(said);
    return { ...(facts ? { restored: { counts: facts.counts, fingerprints: facts.fingerprints } } : {}), profile: said };
  }

  /**
   * The data dir at rest in one engine call: every file's path and mode, and
   * copies of master.key (into a 0700 folder of its own), platform.db and each
   * tenant store with its -wal. The -shm is not copied: it is rebuilt from the WAL.
   */
  async #readDataDir(local: string): Promise<RestoredTree> {
    const secret = join(local, 'secret');
    mkdirSync(secret, { recursive: true, mode: 0o700 });
    const { entries, copied } = await this.#app!.copyTreeOut(DATA_DIR, (path) => {
      if (path === 'master.key') return join(secret, 'master.key');
      if (!/^(platform\.db|tenants\/[^/]+\/store\.db)(-wal)?$/.test(path)) return undefined;
      mkdirSync(dirname(join(local, path)), { recursive: true });
      return join(local, path);
    });
    return { files: new Map(entries.filter((e) => e.type === 'file').map((e) => [e.path, e.mode])), copied: new Set(copied) };
  }

  /** The key the restored server runs with, against the archive's. Returns it (in memory only) for the decrypt probe. */
  #probeMasterKey(read: RestoredTree, local: string): Buffer | undefined {
    const ctx = this.#ctx;
    const archiveKey = this.#archive!.masterKey;
    const mode = read.files.get('master.key');
    if (mode === undefined || !read.copied.has('master.key')) {
      ctx.check({ id: 'probe.master-key', status: 'fail', reason: `master key missing after restore: ${DATA_DIR}/master.key does not exist` });
      return undefined;
    }
    const secret = join(local, 'secret');
    let restored: Buffer;
    try {
      restored = readFileSync(join(secret, 'master.key'));
    } finally {
      rmSync(secret, { recursive: true, force: true });
    }
    const minted = this.#freshKeyDigest !== undefined && createHash('sha256').update(restored).digest('hex') === this.#freshKeyDigest;
    // Whatever key the server runs with is the one every credential is opened with below.
    const usable = restored.length === 32 ? restored : undefined;
    if (!archiveKey) {
      ctx.check({
        id: 'probe.master-key',
        status: 'fail',
        reason: `master key missing after restore: the archive holds no data/master.key, so Hiveloom runs with the key it created at its first start${minted ? ' (it is that key)' : ''}; none of the archive's credentials can be decrypted with it - back up master.key with the databases`,
      });
      return usable;
    }
    if (!restored.equals(archiveKey)) {
      ctx.check({ id: 'probe.master-key', status: 'fail', reason: `the data dir's master.key after the restore is not the archive's${minted ? ' (it is the one the first start created: the restore did not replace it)' : ''}` });
      return usable;
    }
    const bits = (mode & 0o777).toString(8).padStart(3, '0');
    if ((mode & 0o077) !== 0) {
      ctx.check({ id: 'probe.master-key', status: 'fail', reason: `master.key is restored with mode ${bits}: other users can read the key to every credential` });
      return usable;
    }
    ctx.check({ id: 'probe.master-key', status: 'pass', reason: `master.key restored: the archive's 32-byte key, mode ${bits}` });
    return restored;
  }

  /** The harness's own reading of the restored files: integrity, counts, fingerprints, decryption, each tenant's store as the manifest records it. */
  #probeFiles(read: RestoredTree, local: string, masterKey: Buffer | undefined): HiveloomFacts | undefined {
    const ctx = this.#ctx;
    const backup = this.#backup;
    if (backup.scope === 'instance') {
      if (!read.copied.has('platform.db')) {
        ctx.check({ id: 'probe.platform-db', status: 'fail', reason: `platform.db is missing after the restore: ${DATA_DIR}/platform.db is not a file` });
        return undefined;
      }
      if (!this.#integrity(join(local, 'platform.db'), 'platform.db')) return undefined;
    }
    const tenants = backup.scope === 'instance' ? readFacts(local, backup).tenants : [{ id: backup.tenant!.id, slug: backup.tenant!.slug }];
    let intact = true;
    for (const t of tenants) {
      const rel = storePath(t.id);
      if (!read.copied.has(rel)) {
        if (this.#archive!.files.includes(rel)) {
          ctx.check({ id: 'probe.tenant-store', status: 'fail', reason: `tenant ${t.slug}: the file ${rel} is in the archive but missing after the restore` });
          intact = false;
        }
        continue;
      }
      intact = this.#integrity(join(local, rel), `${rel} (tenant ${t.slug})`) && intact;
    }
    if (!intact) return undefined;
    const facts = readFacts(local, backup, masterKey);
    for (const p of facts.problems) ctx.check({ id: 'probe.read', status: 'fail', reason: `restored data: ${p}` });
    for (const p of storeDisagreements(ctx.manifest.expectations.counts, facts, 'the restored data')) ctx.check({ id: 'probe.tenant-store', status: 'fail', reason: p });
    if (facts.decrypt) {
      const d = facts.decrypt;
      const bad = decryptFailure(d);
      ctx.check(
        bad
          ? { id: 'probe.decrypt', status: 'fail', reason: bad, observed: { failed: d.failures.length, total: d.total } }
          : { id: 'probe.decrypt', status: 'pass', reason: `all ${d.total} credentials decrypt with the restored master.key (AES-256-GCM)`, observed: { total: d.total } },
      );
    }
    return facts;
  }

  #integrity(path: string, name: string): boolean {
    const ctx = this.#ctx;
    rmSync(`${path}-shm`, { force: true });
    const problems = fileIntegrityProblems(path);
    ctx.check(
      problems.length === 0
        ? { id: 'probe.integrity', status: 'pass', reason: `restored ${name}: PRAGMA integrity_check ok` }
        : { id: 'probe.integrity', status: 'fail', reason: `restored ${name} fails PRAGMA integrity_check: ${problems.slice(0, 3).join('; ')}`, observed: problems },
    );
    return problems.length === 0;
  }

  /**
   * Hiveloom's own listings (its CLI through the server), recorded for the
   * compare stage: the tenant list, then every tenant's agent list in one exec
   * (`agentListsScript`), since one exec per tenant costs more than the listing.
   */
  async #probeAppCounts(said: HiveloomObservations): Promise<void> {
    const backup = this.#backup;
    said.tenantList = await this.#exec(['hiveloom', 'tenant', 'list', '--json']);
    const tenants = parseTenantList(said.tenantList.stdout);
    if (!tenants) return;
    // Every tenant the restored server shows (an instance archive), or the archive's own tenant beside the fresh default one.
    const slugs = backup.scope === 'instance' ? tenants.map((t) => t.slug) : [backup.tenant!.slug];
    if (slugs.length === 0) return;
    const batch = await this.#exec(['sh', '-c', agentListsScript(DRILL_DIR), 'agent-lists', ...slugs]);
    said.agentLists = splitAgentLists(batch, slugs);
  }

  /** Starts `hiveloom serve` in the background and waits for /healthz (`hiveloom health`). */
  async #startServer(id: HiveloomSessionCheckId, onFailure: 'fail' | 'error', when?: string): Promise<boolean> {
    const ctx = this.#ctx;
    const log = `${DRILL_DIR}/serve-${++this.#serves}.log`;
    const r = await this.#exec(['sh', '-c', `hiveloom serve --host 127.0.0.1 --port ${PORT} --data-dir ${DATA_DIR} >${log} 2>&1 & echo $!`]);
    this.#serverPid = r.stdout.trim();
    const deadline = Date.now() + Math.min(60_000, ctx.execTimeoutMs);
    while (Date.now() < deadline) {
      const h = await this.#exec(['hiveloom', 'health']);
      if (h.exitCode === 0) return true;
      if (!(await this.#alive(this.#serverPid))) break;
      await new Promise((res) => setTimeout(res, 300));
    }
    const tail = await this.#exec(['tail', '-n', '5', log]);
    ctx.check({
      id,
      status: onFailure,
      reason: `hiveloom serve did not come up${when ? ` ${when}` : onFailure === 'fail' ? ' on the restored data' : ' on an empty data dir'}: ${quote(tail.stdout, '', 3)}`,
    });
    return false;
  }

  /**
   * Ends the server and waits until it has. 0.2.0 installs no signal handler,
   * so SIGTERM (what `systemctl stop` sends) ends it on the spot, as a crash
   * would: SQLite's files are then at rest and consistent, WALs included.
   */
  async #stopServer(): Promise<boolean> {
    const pid = this.#serverPid;
    if (!pid) return true;
    for (const signal of ['TERM', 'KILL']) {
      await this.#exec(['sh', '-c', `kill -${signal} ${pid}`]);
      for (let i = 0; i < 50; i++) {
        if (!(await this.#alive(pid))) return true;
        await new Promise((res) => setTimeout(res, 100));
      }
    }
    return false;
  }

  /** A process that ended stays a zombie (nothing reaps in the container): alive means running. */
  async #alive(pid: string): Promise<boolean> {
    if (!/^\d+$/.test(pid)) return false;
    const r = await this.#exec(['cat', `/proc/${pid}/stat`]);
    const state = /\) (\S)/.exec(r.stdout)?.[1];
    return r.exitCode === 0 && state !== undefined && state !== 'Z' && state !== 'X';
  }

  #exec(cmd: string[]): Promise<ExecOutcome> {
    return this.#app!.exec(cmd, { timeoutMs: this.#ctx.execTimeoutMs, env: ENV });
  }
}
