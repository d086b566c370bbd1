import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { UsageError } from '../errors.ts';
import { loadManifestFile, manifestPathFor } from '../manifest/load.ts';
import { manifestSignatureProblem } from '../manifest/signature.ts';
import type { Manifest } from '../manifest/schema.ts';
import type { SecretBag } from '../model/secrets.ts';
import { readSecretsFile } from '../files/secrets-file.ts';
import { loadPublicKey } from '../evidence/keys.ts';
import { expandArchives } from '../select/expand.ts';
import type { Policy } from '../verdict/index.ts';
import type { Profile } from '../profile.ts';
import { getProfile } from '../profiles.ts';

export interface DrillPlan {
  archive: string;
  manifestPath: string;
  /** sha256 of the manifest's exact bytes: the report (and signed evidence) names what the drill was held against. */
  manifestSha256: string;
  manifest: Manifest;
  profile: Profile;
  secrets: SecretBag | undefined;
  /** What empty or shrunken backups this drill accepts (manifest policy or command line). */
  policy: Policy;
  /** The previous backup's manifest in the same folder, for the sharp-drop policy. */
  previous?: { manifest: Manifest; path: string };
}

/** A planned drill and the folder its archive was found in (for --latest per folder). */
export interface Candidate {
  plan: DrillPlan;
  folder: string;
}

/** What `run` and `gate` take from the command line to plan drills. */
export interface PlanOptions {
  profile: string;
  /** Files, folders (the archives in them) and globs. */
  archives: string[];
  manifest?: string;
  secrets?: string;
  /** Accept an empty backup (no audit rows, tenants or credentials) instead of failing it. */
  acceptEmpty?: boolean;
  /** Accept counts that dropped sharply against the previous backup of the same folder. */
  acceptDrop?: boolean;
  /** Public key (PEM): every manifest must carry a valid signature by it (<manifest>.dsse.json). */
  manifestPubkey?: string;
}

/**
 * Validates every input before anything starts (a usage error starts no
 * container): each archive exists and has a valid manifest for this profile
 * that carries every expectation the profile's contract requires.
 */
export async function planDrills(opts: PlanOptions): Promise<DrillPlan[]> {
  return (await planCandidates(opts)).candidates.map((c) => c.plan);
}

export interface Planned {
  candidates: Candidate[];
  /** Archives found in a folder that cannot be drilled as they are (no manifest, unsigned): reported, never skipped. */
  unproven: Array<{ archive: string; reason: string }>;
  secrets: SecretBag | undefined;
}

export async function planCandidates(opts: PlanOptions): Promise<Planned> {
  const profile = getProfile(opts.profile);
  if (opts.archives.length === 0) throw new UsageError('no archive given', 'RD_NO_ARCHIVE');
  const found = expandArchives(opts.archives);
  if (opts.manifest && found.length > 1) throw new UsageError('--manifest names the manifest of one archive; give one archive with it', 'RD_USAGE');
  const secrets = opts.secrets ? readSecretsFile(opts.secrets) : undefined;
  const pubkey = opts.manifestPubkey ? loadPublicKey(opts.manifestPubkey, '--manifest-pubkey') : undefined;
  const planned: Planned = { candidates: [], unproven: [], secrets };
  for (const { path: archive, folder, listed } of found) {
    if (!existsSync(archive)) throw new UsageError(`archive ${archive} does not exist`, 'RD_NO_ARCHIVE');
    if (!statSync(archive).isFile()) throw new UsageError(`archive ${archive} is not a file`, 'RD_NO_ARCHIVE');
    const manifestPath = resolve(opts.manifest ?? manifestPathFor(archive));
    if (listed && !existsSync(manifestPath)) {
      planned.unproven.push({ archive, reason: `no manifest (${basename(manifestPath)}): this archive is unproven; capture its manifest at backup time with "restore-drill manifest capture"` });
      continue;
    }
    const { manifest, sha256, bytes } = await loadManifestFile(manifestPath);
    if (manifest.app.name !== profile.name) {
      throw new UsageError(`manifest ${manifestPath} is for ${manifest.app.name}, not the ${profile.name} profile`, 'RD_PROFILE_MISMATCH');
    }
    const problems = profile.contract.manifestProblems(manifest);
    if (problems.length > 0) {
      throw new UsageError(`manifest ${manifestPath} lacks what a ${profile.name} drill must check (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${problems.join('; ')}`, 'RD_MANIFEST_INCOMPLETE');
    }
    const unsigned = pubkey && (await manifestSignatureProblem(manifestPath, bytes, pubkey));
    if (unsigned) {
      if (!listed) throw new UsageError(unsigned, 'RD_MANIFEST_UNSIGNED');
      planned.unproven.push({ archive, reason: unsigned });
      continue;
    }
    const policy = { acceptEmpty: opts.acceptEmpty === true || manifest.policy?.acceptEmpty === true, acceptDrop: opts.acceptDrop === true || manifest.policy?.acceptDrop === true };
    const previous = await previousManifest(folder, manifestPath, manifest);
    planned.candidates.push({ plan: { archive, manifestPath, manifestSha256: sha256, manifest, profile, secrets, policy, ...(previous ? { previous } : {}) }, folder });
  }
  return planned;
}

/** The manifest of the backup taken before this one in the same folder (same application), if any. */
async function previousManifest(folder: string, self: string, m: Manifest): Promise<{ manifest: Manifest; path: string } | undefined> {
  let best: { manifest: Manifest; path: string } | undefined;
  const at = Date.parse(m.archive.createdAt);
  for (const f of readdirSync(folder)) {
    if (!f.endsWith('.manifest.json')) continue;
    const path = join(folder, f);
    if (path === self) continue;
    let other: Manifest;
    try {
      // Read like the manifest itself: a FIFO or a device named *.manifest.json in the folder must not stall the run.
      other = (await loadManifestFile(path)).manifest;
    } catch {
      continue; // a broken neighbour is its own archive's problem
    }
    const t = Date.parse(other.archive.createdAt);
    if (other.app.name !== m.app.name || !(t < at)) continue;
    if (!best || t > Date.parse(best.manifest.archive.createdAt)) best = { manifest: other, path };
  }
  return best;
}

