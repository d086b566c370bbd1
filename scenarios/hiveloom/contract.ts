import type { Contract } from '../../harness/verdict/index.ts';
import type { Manifest } from '../../harness/manifest/schema.ts';
import type { Finding, Inspected, Probed } from '../../harness/model/types.ts';
import { judgeApp } from './app-checks.ts';
import { refusal } from './archive.ts';
import { decryptFailure, storeDisagreements, type HiveloomFacts } from './facts.ts';
import { DATA_DIR, key, manifestTenants } from './layout.ts';
import { HIVELOOM_CHECK, type HiveloomCheckId, type HiveloomSessionCheckId } from './check-ids.ts';
import type { HiveloomObservationTypes, HiveloomProvisioned, RestoredAtRest, RestoredKey } from './observations.ts';
import { quote } from './parse.ts';

export type { HiveloomObservationTypes, HiveloomProvisioned } from './observations.ts';

type HiveloomFinding = Finding<HiveloomSessionCheckId>;

/**
 * What a Hiveloom `passed` rests on: exact counts with content fingerprints
 * for the tenants and each tenant's data, its credentials (each decrypted with
 * the restored master.key), the doctor, and Hiveloom's own tenant and agent
 * listings. Keys the archive holds but the manifest lacks are found by the
 * compare stage (an observed key the manifest does not cover fails).
 */
export const hiveloomContract: Contract<HiveloomObservationTypes> = {
  archiveRecordsVersion: false,

  manifestProblems(m: Manifest): string[] {
    const p: string[] = [];
    const counts = m.expectations.counts;
    const slugs = manifestTenants(m);
    if (slugs.length === 0) p.push('$.expectations.counts: per-tenant expectations (agents[slug], credentials[slug]) are required');
    for (const slug of slugs) {
      if (counts[key.credentials(slug)] === undefined) p.push(`$.expectations.counts["${key.credentials(slug)}"]: the tenant's credential count is required`);
    }
    for (const [k, v] of Object.entries(counts)) {
      if (typeof v !== 'number') p.push(`$.expectations.counts["${k}"]: an exact count is required`);
      else if (v > 0 && m.expectations.fingerprints?.[k] === undefined) p.push(`$.expectations.fingerprints["${k}"]: a content fingerprint is required`);
    }
    return p;
  },

  requiredChecks(m: Manifest): string[] {
    const counts = Object.keys(m.expectations.counts);
    const fingerprints = Object.keys(m.expectations.fingerprints ?? {});
    const C = HIVELOOM_CHECK;
    return [
      C.inspectEntries,
      C.inspectLayout,
      C.inspectBackupJson,
      C.inspectMasterKey,
      C.inspectIntegrity,
      C.inspectTenants,
      C.inspectTenantStore,
      C.inspectDecrypt,
      C.dataDir,
      C.version,
      C.restore,
      C.restart,
      C.masterKey,
      ...(restoredDatabasesExpected(m) ? [C.probeIntegrity] : []),
      C.tenantStore,
      C.decrypt,
      C.doctor,
      C.tenantList,
      ...manifestTenants(m).map((slug) => `app.agent-list.${slug}`),
      ...counts.map((k) => `compare.count.${k}`),
      ...fingerprints.map((k) => `compare.fingerprint.${k}`),
    ];
  },

  emptiness(m: Manifest): string[] {
    const counts = m.expectations.counts;
    const out: string[] = [];
    if (counts[key.tenants] === 0) out.push('it has no tenants');
    const slugs = manifestTenants(m);
    const credentials = slugs.reduce((n, s) => n + (typeof counts[key.credentials(s)] === 'number' ? (counts[key.credentials(s)] as number) : 0), 0);
    if (credentials === 0) out.push('it holds no credentials, so nothing proves the master key belongs to the data');
    return out;
  },

  judgeArchive: (m, seen) => judgeArchive(m, seen),

  judgeProvision: judgeBinaryVersion,

  judgeRestored: (m, seen) => judgeRestored(m, seen),

  compareProfile: (m, obs) => judgeApp(m, obs),
};

/**
 * The image's binary against the version that made the archive (the manifest's): a drill
 * with another binary proves nothing about this backup, and one that does not run, nothing at all.
 */
export function judgeBinaryVersion(m: Manifest, seen: HiveloomProvisioned): Finding<HiveloomCheckId>[] {
  const id = HIVELOOM_CHECK.version;
  const v = seen.binary;
  const want = m.app.version;
  if (v.exitCode !== 0 || !v.version) return [{ id, status: 'error', reason: `the image's hiveloom does not run (exit ${v.exitCode}): ${quote(v.stdout, v.stderr)}` }];
  if (v.version !== want) return [{ id, status: 'error', reason: `the image runs hiveloom ${v.version}, the archive was made by ${want}: supply the ${want} binary`, expected: want, observed: v.version }];
  return [{ id, status: 'pass', reason: `hiveloom ${v.version}, the version that made the archive` }];
}

/**
 * Whether the restore must leave a database to check (probe.integrity): platform.db for an instance
 * archive (the manifest records its tenant count), a store for a tenant the manifest records one for.
 * A tenant archive of a tenant nobody used holds no database at all.
 */
function restoredDatabasesExpected(m: Manifest): boolean {
  const counts = m.expectations.counts;
  return counts[key.tenants] !== undefined || manifestTenants(m).some((s) => counts[key.noStore(s)] === undefined);
}

/**
 * The archive as inspect read it, before anything starts: refused entries, its layout and backup.json,
 * its key's size, each database's WAL and integrity, then its data read with its own key (tenants,
 * each tenant's store as the manifest records it, every credential opened). Findings here do not stop
 * the drill: the application's own restore still gets its say (nothing starts after a refused entry).
 */
export function judgeArchive(m: Manifest, { inspected: a }: Inspected<HiveloomObservationTypes>): HiveloomFinding[] {
  if (!a) return [];
  const out: HiveloomFinding[] = a.refused.map((f) => ({ id: `inspect.entry.${f.problem}`, status: 'fail', reason: refusal(f), observed: f.entry }));
  if (a.refused.length > 0) return out;
  out.push({ id: 'inspect.entries', status: 'pass', reason: 'every entry stays inside the target folder, no links out, no device files, sizes and compression ratio within bounds' });
  for (const p of a.layout) out.push({ id: 'inspect.layout', status: 'fail', reason: `not a Hiveloom archive as 0.2.0 writes them: ${p}` });
  if (a.layout.length === 0) out.push({ id: 'inspect.layout', status: 'pass', reason: 'laid out as Hiveloom 0.2.0 writes archives: backup.json first, every file under data/, no links' });
  if (!a.backup) return out;
  out.push({ id: 'inspect.backup-json', status: 'pass', reason: `backup.json: ${a.backup.scope} scope${a.backup.tenant ? ` (tenant ${a.backup.tenant.slug})` : ''}, taken ${a.backup.created_at}` });
  if (a.masterKeyBytes !== undefined) {
    out.push(
      a.masterKeyBytes === 32
        ? { id: 'inspect.master-key', status: 'pass', reason: 'data/master.key is 32 bytes, the size Hiveloom starts with' }
        : { id: 'inspect.master-key', status: 'fail', reason: `data/master.key is ${a.masterKeyBytes} bytes; Hiveloom refuses to start with a key that is not 32 bytes` },
    );
  }
  for (const d of a.databases) {
    for (const p of d.walProblems) out.push({ id: 'inspect.wal', status: 'fail', reason: `data/${d.file}-wal is inconsistent with data/${d.file}: ${p}`, observed: d.file });
    out.push(
      d.integrity.length === 0
        ? { id: 'inspect.integrity', status: 'pass', reason: `data/${d.file}: PRAGMA integrity_check ok${d.hasWal ? ' (with its WAL)' : ''}` }
        : { id: 'inspect.integrity', status: 'fail', reason: `data/${d.file} fails PRAGMA integrity_check: ${d.integrity.slice(0, 3).join('; ')}`, observed: d.integrity },
    );
  }
  if (!a.read) return out;
  if ('error' in a.read) return [...out, { id: 'inspect.read', status: 'fail', reason: `the archive's databases cannot be read: ${a.read.error}` }];
  // The archive's own key against the archive's own credentials, before anything runs.
  const facts = a.read.facts;
  for (const p of facts.problems) out.push({ id: 'inspect.tenants', status: 'fail', reason: `archive: ${p}` });
  if (facts.problems.length === 0) out.push({ id: 'inspect.tenants', status: 'pass', reason: `archive: ${facts.tenants.length} tenant${facts.tenants.length === 1 ? '' : 's'}, every store readable and named by its tenant` });
  out.push(...judgeStores(m, facts, 'the archive', 'inspect.tenant-store'));
  const bad = facts.decrypt && decryptFailure(facts.decrypt);
  if (bad) out.push({ id: 'inspect.decrypt', status: 'fail', reason: `archive: ${bad}`, observed: { failed: facts.decrypt!.failures.length, total: facts.decrypt!.total } });
  else if (facts.decrypt) out.push({ id: 'inspect.decrypt', status: 'pass', reason: `archive: all ${facts.decrypt.total} credentials decrypt with the archive's master.key (AES-256-GCM)`, observed: { total: facts.decrypt.total } });
  return out;
}

/** Each tenant's store as the manifest records it (kept or recorded as never made), in the data read: one failure per disagreement, or one pass. */
function judgeStores(m: Manifest, facts: HiveloomFacts, where: string, id: HiveloomCheckId): HiveloomFinding[] {
  const wrong = storeDisagreements(m.expectations.counts, facts, where);
  if (wrong.length > 0) return wrong.map((reason) => ({ id, status: 'fail', reason }));
  return [{ id, status: 'pass', reason: `${where}: every tenant's store as the manifest records it` }];
}

/**
 * The restored data dir as the harness read it at rest, in the probe stage: the key the server runs
 * with against the archive's, each restored database's integrity, a store the restore lost, then the
 * data read with the restored key (each tenant's store as the manifest records it, every credential
 * opened). What Hiveloom itself said is compared in the compare stage (judgeApp).
 */
export function judgeRestored(m: Manifest, { profile: said }: Probed<HiveloomObservationTypes>): HiveloomFinding[] {
  const seen = said?.atRest;
  if (!said || !seen) return [];
  const out: HiveloomFinding[] = [judgeRestoredKey(seen.masterKey)];
  if (seen.platformDb === false) return [...out, { id: 'probe.platform-db', status: 'fail', reason: `platform.db is missing after the restore: ${DATA_DIR}/platform.db is not a file` }];
  out.push(...judgeRestoredFiles(seen));
  const facts = seen.facts;
  if (!facts) return out;
  for (const p of facts.problems) out.push({ id: 'probe.read', status: 'fail', reason: `restored data: ${p}` });
  out.push(...judgeStores(m, facts, 'the restored data', 'probe.tenant-store'));
  if (facts.decrypt) {
    const d = facts.decrypt;
    const bad = decryptFailure(d);
    out.push(
      bad
        ? { id: 'probe.decrypt', status: 'fail', reason: bad, observed: { failed: d.failures.length, total: d.total } }
        : { id: 'probe.decrypt', status: 'pass', reason: `all ${d.total} credentials decrypt with the restored master.key (AES-256-GCM)`, observed: { total: d.total } },
    );
  }
  return out;
}

function judgeRestoredFiles(seen: RestoredAtRest): HiveloomFinding[] {
  return seen.files.map((f): HiveloomFinding => {
    if (f.kind === 'lost') return { id: 'probe.tenant-store', status: 'fail', reason: `tenant ${f.slug}: the file ${f.path} is in the archive but missing after the restore` };
    return f.problems.length === 0
      ? { id: 'probe.integrity', status: 'pass', reason: `restored ${f.name}: PRAGMA integrity_check ok` }
      : { id: 'probe.integrity', status: 'fail', reason: `restored ${f.name} fails PRAGMA integrity_check: ${f.problems.slice(0, 3).join('; ')}`, observed: f.problems };
  });
}

/** The key the restored server runs with: there, the archive's, readable by its owner only. */
function judgeRestoredKey(k: RestoredKey): HiveloomFinding {
  const id = 'probe.master-key';
  if (!k.present) return { id, status: 'fail', reason: `master key missing after restore: ${DATA_DIR}/master.key does not exist` };
  const minted = k.firstStartSha256 !== undefined && k.sha256 === k.firstStartSha256;
  if (k.archiveSha256 === undefined) {
    return {
      id,
      status: 'fail',
      reason: `master key missing after restore: the archive holds no data/master.key, so Hiveloom runs with the key it created at its first start${minted ? ' (it is that key)' : ''}; none of the archive's credentials can be decrypted with it - back up master.key with the databases`,
    };
  }
  if (k.sha256 !== k.archiveSha256) {
    return { id, status: 'fail', reason: `the data dir's master.key after the restore is not the archive's${minted ? ' (it is the one the first start created: the restore did not replace it)' : ''}` };
  }
  const bits = (k.mode & 0o777).toString(8).padStart(3, '0');
  if ((k.mode & 0o077) !== 0) return { id, status: 'fail', reason: `master.key is restored with mode ${bits}: other users can read the key to every credential` };
  return { id, status: 'pass', reason: `master.key restored: the archive's ${k.bytes}-byte key, mode ${bits}` };
}
