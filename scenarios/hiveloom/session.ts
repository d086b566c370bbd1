import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DrillContainer, ExecOutcome } from '../../harness/runtime/index.ts';
import type { DrillContext, DrillSession } from '../../harness/profile.ts';
import type { Observations } from '../../harness/drill/types.ts';
import { fileIntegrityProblems } from '../../harness/checks/sqlite-db.ts';
import { errorMessage } from '../../harness/errors.ts';
import { requireEmptyDataDir } from '../../harness/drill/data-dir.ts';
import { openArchive, type OpenedArchive } from './archive.ts';
import { decryptFailure, readFacts, type HiveloomFacts } from './facts.ts';
import { DATA_DIR, DRILL_DIR, PORT, key, storePath, type BackupJson } from './layout.ts';
import { parseAgentList, parseDoctor, parseRestore, parseTenantList, parseVersion, quote } from './parse.ts';

const ARCHIVE_IN = `${DRILL_DIR}/archive.tar.gz`;
const ENV = { HIVELOOM_DATA_DIR: DATA_DIR, HIVELOOM_ENDPOINT: `http://127.0.0.1:${PORT}`, TZ: 'UTC' };

/**
 * One Hiveloom drill. The operator's procedure (fresh host, same version,
 * restore into an empty data dir, doctor, tenant and agent counts) adapted to
 * what 0.2.0 really does: restore is done by the running server (so a server
 * is started on the empty data dir first), it merges over the live dir, and the
 * key is read only at start-up (so the server is restarted after the restore).
 */
export class HiveloomSession implements DrillSession {
  readonly #ctx: DrillContext;
  #archive: OpenedArchive | undefined;
  #app: DrillContainer | undefined;
  #serverPid: string | undefined;
  #serves = 0;

  constructor(ctx: DrillContext) {
    this.#ctx = ctx;
  }

  get #backup(): BackupJson {
    return this.#archive!.backup!;
  }

  async inspect(): Promise<void> {
    const ctx = this.#ctx;
    const a = (this.#archive = await openArchive(ctx.archive, join(ctx.workDir, 'archive')));
    for (const f of a.refused) {
      ctx.check({ id: `inspect.entry.${f.problem}`, status: 'fail', reason: `refused entry "${f.entry}": ${f.reason}`, observed: f.entry });
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
        const facts = readFacts(a.dataRoot, a.backup, a.masterKey);
        const bad = facts.decrypt && decryptFailure(facts.decrypt);
        if (bad) ctx.check({ id: 'inspect.decrypt', status: 'fail', reason: `archive: ${bad}`, observed: { failed: facts.decrypt!.failures.length, total: facts.decrypt!.total } });
      } catch (e) {
        ctx.check({ id: 'inspect.read', status: 'fail', reason: `the archive's databases cannot be read: ${errorMessage(e)}` });
      }
    }
  }

  async provision(): Promise<void> {
    const ctx = this.#ctx;
    const a = this.#archive;
    if (!a || a.refused.length > 0 || !a.backup) {
      const why = a?.refused.length ? a.refused.map((f) => `"${f.entry}"`).join(', ') : 'it is not a readable Hiveloom archive';
      ctx.check({ id: 'provision.refused', status: 'fail', reason: `nothing was started: the archive was refused at inspect (${why})` });
      return;
    }
    this.#app = await ctx.start({ labels: { 'io.restore-drill.role': 'app' } });
    if (!(await requireEmptyDataDir(ctx, this.#app, DATA_DIR))) return;
    const v = await this.#exec(['hiveloom', 'version']);
    const version = parseVersion(v.stdout);
    const want = ctx.manifest.app.version;
    if (v.exitCode !== 0 || !version) {
      ctx.check({ id: 'provision.version', status: 'error', reason: `the image's hiveloom does not run (exit ${v.exitCode}): ${quote(v.stdout, v.stderr)}` });
      return;
    }
    if (version !== want) {
      ctx.check({ id: 'provision.version', status: 'error', reason: `the image runs hiveloom ${version}, the archive was made by ${want}: supply the ${want} binary`, expected: want, observed: version });
      return;
    }
    ctx.check({ id: 'provision.version', status: 'pass', reason: `hiveloom ${version}, the version that made the archive` });
    await this.#exec(['install', '-d', '-m', '0700', DRILL_DIR]);
    await this.#app.copyIn(ctx.archive, ARCHIVE_IN, 0o600);
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

  async probe(): Promise<Observations> {
    const obs: Observations = { counts: {}, fingerprints: {} };
    await this.#probeDoctor();
    const key = await this.#probeMasterKey();
    const facts = await this.#probeFiles(key);
    if (facts) {
      obs.counts = facts.counts;
      obs.fingerprints = facts.fingerprints;
    }
    await this.#probeAppCounts();
    return obs;
  }

  async #probeDoctor(): Promise<void> {
    const ctx = this.#ctx;
    const r = await this.#exec(['hiveloom', 'doctor', '--data-dir', DATA_DIR, '--json']);
    const checks = parseDoctor(r.stdout);
    if (!checks) {
      ctx.check({ id: 'app.doctor', status: 'error', reason: `hiveloom doctor --json printed no checks (exit ${r.exitCode}; its exit code means nothing): ${quote(r.stdout, r.stderr)}` });
      return;
    }
    const failed = checks.filter((c) => !c.pass);
    for (const c of failed) ctx.check({ id: 'app.doctor', status: 'fail', reason: `hiveloom doctor: ${c.check}: ${c.detail}` });
    if (failed.length === 0) ctx.check({ id: 'app.doctor', status: 'pass', reason: `hiveloom doctor: all ${checks.length} checks pass (${checks.map((c) => c.check).join(', ')})` });
  }

  /** The key the restored server runs with, against the archive's. Returns it (in memory only) for the decrypt probe. */
  async #probeMasterKey(): Promise<Buffer | undefined> {
    const ctx = this.#ctx;
    const archiveKey = this.#archive!.masterKey;
    const st = await this.#exec(['stat', '-c', '%a', `${DATA_DIR}/master.key`]);
    if (st.exitCode !== 0) {
      ctx.check({ id: 'probe.master-key', status: 'fail', reason: `master key missing after restore: ${DATA_DIR}/master.key does not exist` });
      return undefined;
    }
    const local = join(this.#ctx.workDir, 'secret');
    mkdirSync(local, { recursive: true, mode: 0o700 });
    let restored: Buffer;
    try {
      await this.#app!.copyOut(`${DATA_DIR}/master.key`, join(local, 'master.key'));
      restored = readFileSync(join(local, 'master.key'));
    } finally {
      rmSync(local, { recursive: true, force: true });
    }
    const now = await this.#exec(['sha256sum', `${DATA_DIR}/master.key`]);
    const minted = this.#freshKeyDigest !== undefined && now.stdout.split(' ')[0] === this.#freshKeyDigest;
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
    const mode = st.stdout.trim();
    if (!/^[0-7]?[0-7]00$/.test(mode)) {
      ctx.check({ id: 'probe.master-key', status: 'fail', reason: `master.key is restored with mode ${mode}: other users can read the key to every credential` });
      return usable;
    }
    ctx.check({ id: 'probe.master-key', status: 'pass', reason: `master.key restored: the archive's 32-byte key, mode ${mode}` });
    return restored;
  }

  /** The harness's own reading of the restored files, copied out: integrity, counts, fingerprints, decryption. */
  async #probeFiles(masterKey: Buffer | undefined): Promise<HiveloomFacts | undefined> {
    const ctx = this.#ctx;
    const backup = this.#backup;
    const local = join(ctx.workDir, 'restored');
    mkdirSync(local, { recursive: true, mode: 0o700 });
    const present = new Set((await this.#exec(['find', DATA_DIR, '-type', 'f'])).stdout.split('\n').filter(Boolean).map((p) => p.slice(DATA_DIR.length + 1)));
    const copy = async (rel: string) => {
      mkdirSync(join(local, rel, '..'), { recursive: true });
      await this.#app!.copyOut(`${DATA_DIR}/${rel}`, join(local, rel));
      if (present.has(`${rel}-wal`)) await this.#app!.copyOut(`${DATA_DIR}/${rel}-wal`, join(local, `${rel}-wal`));
    };
    if (backup.scope === 'instance') {
      if (!present.has('platform.db')) {
        ctx.check({ id: 'probe.platform-db', status: 'fail', reason: 'platform.db is missing after the restore' });
        return undefined;
      }
      await copy('platform.db');
      if (!this.#integrity(join(local, 'platform.db'), 'platform.db')) return undefined;
    }
    // The stores of the archive's tenants, read before `agent list` runs (it creates a missing store, empty).
    const tenants = backup.scope === 'instance' ? readFacts(local, backup).tenants : [{ id: backup.tenant!.id, slug: backup.tenant!.slug }];
    let intact = true;
    for (const t of tenants) {
      const rel = storePath(t.id);
      if (!present.has(rel)) {
        if (this.#archive!.files.includes(rel)) {
          ctx.check({ id: 'probe.tenant-store', status: 'fail', reason: `tenant ${t.slug}: ${rel} is in the archive but missing after the restore` });
          intact = false;
        }
        continue;
      }
      await copy(rel);
      intact = this.#integrity(join(local, rel), `${rel} (tenant ${t.slug})`) && intact;
    }
    if (!intact) return undefined;
    const facts = readFacts(local, backup, masterKey);
    for (const p of facts.problems) ctx.check({ id: 'probe.read', status: 'fail', reason: `restored data: ${p}` });
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

  /** Hiveloom's own counts (its CLI through the server) against the manifest. */
  async #probeAppCounts(): Promise<void> {
    const ctx = this.#ctx;
    const exp = ctx.manifest.expectations.counts;
    const backup = this.#backup;
    const r = await this.#exec(['hiveloom', 'tenant', 'list', '--json']);
    const tenants = parseTenantList(r.stdout);
    if (!tenants) {
      ctx.check({ id: 'app.tenant-list', status: 'error', reason: `hiveloom tenant list --json printed no tenant list (exit ${r.exitCode}): ${quote(r.stdout, r.stderr)}` });
      return;
    }
    let slugs: string[];
    if (backup.scope === 'instance') {
      const want = exp[key.tenants];
      if (typeof want !== 'number') {
        ctx.check({ id: 'app.tenant-list', status: 'error', reason: 'the manifest records no tenant count for this instance archive' });
        return;
      }
      ctx.check(
        tenants.length === want
          ? { id: 'app.tenant-list', status: 'pass', reason: `hiveloom tenant list: ${tenants.length} tenants, as the manifest records`, expected: want, observed: tenants.length }
          : { id: 'app.tenant-list', status: 'fail', reason: `hiveloom tenant list shows ${tenants.length} tenants, the manifest records ${want}`, expected: want, observed: tenants.length },
      );
      slugs = tenants.map((t) => t.slug);
    } else {
      // A tenant archive restored into a fresh instance: that tenant (with its own id) beside the fresh default one.
      const t = backup.tenant!;
      const found = tenants.find((x) => x.slug === t.slug);
      ctx.check(
        found && found.id === t.id
          ? { id: 'app.tenant-list', status: 'pass', reason: `hiveloom tenant list shows tenant ${t.slug} with the archive's id` }
          : { id: 'app.tenant-list', status: 'fail', reason: found ? `tenant ${t.slug} has id ${found.id} after the restore, the archive's is ${t.id}` : `hiveloom tenant list does not show the archive's tenant ${t.slug}` },
      );
      slugs = [t.slug];
    }
    for (const slug of slugs) {
      const want = exp[key.agents(slug)];
      if (want === undefined) {
        ctx.check({ id: 'app.agent-list', status: 'fail', reason: `tenant ${slug} is not in the manifest: the restore shows a tenant the backup did not have` });
        continue;
      }
      const a = await this.#exec(['hiveloom', 'agent', 'list', '--tenant', slug, '--json']);
      const agents = parseAgentList(a.stdout);
      if (!agents) {
        ctx.check({ id: 'app.agent-list', status: 'error', reason: `hiveloom agent list --tenant ${slug} --json printed no agent list (exit ${a.exitCode}): ${quote(a.stdout, a.stderr)}` });
        continue;
      }
      const n = agents.length;
      ctx.check(
        typeof want === 'number' && n === want
          ? { id: 'app.agent-list', status: 'pass', reason: `tenant ${slug}: hiveloom agent list shows ${n} agents, as the manifest records`, expected: want, observed: n }
          : { id: 'app.agent-list', status: 'fail', reason: `tenant ${slug}: hiveloom agent list shows ${n} agents, the manifest records ${typeof want === 'number' ? want : JSON.stringify(want)}`, expected: want, observed: n },
      );
    }
  }

  /** Starts `hiveloom serve` in the background and waits for /healthz (`hiveloom health`). */
  async #startServer(id: string, onFailure: 'fail' | 'error'): Promise<boolean> {
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
      reason: `hiveloom serve did not come up${onFailure === 'fail' ? ' on the restored data' : ' on an empty data dir'}: ${quote(tail.stdout, '', 3)}`,
    });
    return false;
  }

  async #stopServer(): Promise<void> {
    const pid = this.#serverPid;
    if (!pid) return;
    await this.#exec(['sh', '-c', `kill ${pid}`]);
    for (let i = 0; i < 50; i++) {
      if (!(await this.#alive(pid))) return;
      await new Promise((res) => setTimeout(res, 100));
    }
    await this.#exec(['sh', '-c', `kill -9 ${pid}`]);
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
