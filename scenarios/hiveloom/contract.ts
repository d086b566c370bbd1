import type { Contract } from '../../harness/verdict/index.ts';
import type { Manifest } from '../../harness/manifest/schema.ts';
import { judgeApp, type HiveloomObservations } from './app-checks.ts';
import { key, manifestTenants } from './layout.ts';
import { HIVELOOM_CHECK, type HiveloomCheckId } from './check-ids.ts';
import type { Finding } from '../../harness/model/types.ts';
import { quote } from './parse.ts';

/** What provision observed: `hiveloom version` as the image's binary answered it. */
export interface HiveloomProvisioned {
  binary: { exitCode: number; stdout: string; stderr: string; version?: string };
}

/** The Hiveloom profile's observation types (harness StageObservations): what its session returns, what this contract reads. */
export interface HiveloomObservationTypes {
  provision: HiveloomProvisioned;
  probe: HiveloomObservations;
}

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
      C.inspectIntegrity,
      C.dataDir,
      C.version,
      C.restore,
      C.restart,
      C.masterKey,
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

  judgeProvision: judgeBinaryVersion,

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
