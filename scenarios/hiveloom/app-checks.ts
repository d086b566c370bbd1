import type { ExecOutcome } from '../../harness/runtime/index.ts';
import type { Finding, Observations } from '../../harness/model/types.ts';
import type { Manifest } from '../../harness/manifest/schema.ts';
import { key, manifestTenants, type BackupJson } from './layout.ts';
import { parseAgentList, parseDoctor, parseTenantList, quote } from './parse.ts';

/** What Hiveloom said about the restored instance, recorded by the probe and judged in the compare stage. */
export interface HiveloomObservations {
  /** The archive's backup.json (its scope and tenant). */
  backup: BackupJson;
  doctor?: ExecOutcome;
  tenantList?: ExecOutcome;
  /** `agent list --tenant SLUG --json` per tenant slug. */
  agentLists: Record<string, ExecOutcome>;
}

/** The profile's part of the one comparison: Hiveloom's doctor and its own listings against the manifest. */
export function judgeApp(manifest: Manifest, obs: Observations<{ probe: HiveloomObservations }>): Finding[] {
  const said = obs.profile;
  if (!said) return [{ id: 'app.doctor', status: 'error', reason: "Hiveloom's own checks did not run" }];
  return [...judgeDoctor(said.doctor, noTenantsFolderExpected(manifest, said.backup)), ...judgeListings(manifest, said)];
}

/**
 * 0.2.0 makes `tenants/` at the first use of any tenant (its server never makes
 * it at start-up, its backup leaves out what does not exist), and its doctor
 * fails "Tenants directory: Not found" whenever platform.db exists without it:
 * on every fresh server, and on the restore of an instance none of whose
 * tenants had been used. That one finding is expected exactly when the
 * manifest records no store for every tenant of an instance archive (and the
 * probe checks the restored data has none).
 */
export function noTenantsFolderExpected(manifest: Manifest, backup: BackupJson): boolean {
  const counts = manifest.expectations.counts;
  const slugs = manifestTenants(manifest);
  return backup.scope === 'instance' && slugs.length > 0 && slugs.every((s) => counts[key.noStore(s)] === 0);
}

const NO_TENANTS_FOLDER = { check: 'Tenants directory', detail: 'Not found' };

function judgeDoctor(r: ExecOutcome | undefined, noTenantsFolder: boolean): Finding[] {
  const id = 'app.doctor';
  if (!r) return [{ id, status: 'error', reason: 'hiveloom doctor did not run' }];
  const checks = parseDoctor(r.stdout);
  if (!checks) return [{ id, status: 'error', reason: `hiveloom doctor --json printed no checks (exit ${r.exitCode}; its exit code means nothing): ${quote(r.stdout, r.stderr)}` }];
  const expected = (c: { check: string; detail: string }) => noTenantsFolder && c.check === NO_TENANTS_FOLDER.check && c.detail === NO_TENANTS_FOLDER.detail;
  const failed = checks.filter((c) => !c.pass && !expected(c));
  if (failed.length > 0) return failed.map((c) => ({ id, status: 'fail' as const, reason: `hiveloom doctor: ${c.check}: ${c.detail}` }));
  const excused = checks.filter((c) => !c.pass);
  if (excused.length > 0) {
    return [
      {
        id,
        status: 'pass',
        reason: `hiveloom doctor: ${checks.length - excused.length} of ${checks.length} checks pass; "${NO_TENANTS_FOLDER.check}: ${NO_TENANTS_FOLDER.detail}" is how 0.2.0's doctor sees an instance none of whose tenants has been used (no tenant has a store, as the manifest records; tenants/ appears at a tenant's first use)`,
      },
    ];
  }
  return [{ id, status: 'pass', reason: `hiveloom doctor: all ${checks.length} checks pass (${checks.map((c) => c.check).join(', ')})` }];
}

function judgeListings(manifest: Manifest, said: HiveloomObservations): Finding[] {
  const exp = manifest.expectations.counts;
  const r = said.tenantList;
  if (!r) return [{ id: 'app.tenant-list', status: 'error', reason: 'hiveloom tenant list did not run' }];
  const tenants = parseTenantList(r.stdout);
  if (!tenants) return [{ id: 'app.tenant-list', status: 'error', reason: `hiveloom tenant list --json printed no tenant list (exit ${r.exitCode}): ${quote(r.stdout, r.stderr)}` }];
  const out: Finding[] = [];
  let slugs: string[];
  if (said.backup.scope === 'instance') {
    const want = exp[key.tenants];
    if (typeof want !== 'number') return [{ id: 'app.tenant-list', status: 'fail', reason: 'the manifest records no exact tenant count for this instance archive: it does not cover the tenants the archive holds' }];
    out.push(
      tenants.length === want
        ? { id: 'app.tenant-list', status: 'pass', reason: `hiveloom tenant list: ${tenants.length} tenants, as the manifest records`, expected: want, observed: tenants.length }
        : { id: 'app.tenant-list', status: 'fail', reason: `hiveloom tenant list shows ${tenants.length} tenants, the manifest records ${want}`, expected: want, observed: tenants.length },
    );
    slugs = tenants.map((t) => t.slug);
  } else {
    // A tenant archive restored into a fresh instance: that tenant (with its own id) beside the fresh default one.
    const t = said.backup.tenant!;
    const found = tenants.find((x) => x.slug === t.slug);
    out.push(
      found && found.id === t.id
        ? { id: 'app.tenant-list', status: 'pass', reason: `hiveloom tenant list shows tenant ${t.slug} with the archive's id` }
        : { id: 'app.tenant-list', status: 'fail', reason: found ? `tenant ${t.slug} has id ${found.id} after the restore, the archive's is ${t.id}` : `hiveloom tenant list does not show the archive's tenant ${t.slug}` },
    );
    slugs = [t.slug];
  }
  for (const slug of slugs) {
    const id = `app.agent-list.${slug}`;
    const want = exp[key.agents(slug)];
    if (want === undefined) {
      out.push({ id, status: 'fail', reason: `tenant ${slug} is not in the manifest: the restore shows a tenant the backup did not have` });
      continue;
    }
    const a = said.agentLists[slug];
    const agents = a && parseAgentList(a.stdout);
    if (!a || !agents) {
      out.push({ id, status: 'error', reason: `hiveloom agent list --tenant ${slug} --json printed no agent list${a ? ` (exit ${a.exitCode}): ${quote(a.stdout, a.stderr)}` : ''}` });
      continue;
    }
    const n = agents.length;
    out.push(
      typeof want === 'number' && n === want
        ? { id, status: 'pass', reason: `tenant ${slug}: hiveloom agent list shows ${n} agents, as the manifest records`, expected: want, observed: n }
        : { id, status: 'fail', reason: `tenant ${slug}: hiveloom agent list shows ${n} agents, the manifest records ${typeof want === 'number' ? want : JSON.stringify(want)}`, expected: want, observed: n },
    );
  }
  return out;
}
