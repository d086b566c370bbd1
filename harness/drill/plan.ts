import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { UsageError } from '../errors.ts';
import { MANIFEST_MAX_BYTES, loadManifestFile, manifestPathFor, parseManifestBytes } from '../manifest/load.ts';
import { manifestSignaturePath, manifestSignatureProblem } from '../manifest/signature.ts';
import type { Manifest } from '../manifest/schema.ts';
import type { SecretBag } from '../model/secrets.ts';
import { readSecretsFile } from '../files/secrets-file.ts';
import { loadPublicKey } from '../evidence/keys.ts';
import { expandArchives } from '../select/expand.ts';
import type { Policy } from '../verdict/index.ts';
import type { Profile } from '../profile.ts';
import { getProfile } from '../profiles.ts';
import { sourceFor } from '../sources/source-for.ts';
import { lastSegment } from '../sources/display.ts';
import type { ArchiveSource, SourceObject } from '../sources/source.ts';
import { budgetFor, type RtoBudget } from './recovery-time.ts';

export interface DrillPlan {
  /** The archive as reports, history and output name it: a local path, or a location's display form (never a credential). */
  archive: string;
  /**
   * Where the bytes are read from when they are not a local file: the source,
   * the location it opens (which may differ from `archive` only by what
   * display() hides) and the object as it was listed (its version or ETag, restic snapshot id).
   */
  remote?: { source: ArchiveSource; location: string; object: SourceObject };
  manifestPath: string;
  /** sha256 of the manifest's exact bytes: the report (and signed evidence) names what the drill was held against. */
  manifestSha256: string;
  manifest: Manifest;
  profile: Profile;
  secrets: SecretBag | undefined;
  /** What empty or shrunken backups this drill accepts (manifest policy or command line). */
  policy: Policy;
  /** The recovery-time budget this drill is held to (manifest, or a tighter --rto), if any. */
  rto?: RtoBudget;
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
  /** Files, folders (the archives in them) and globs; or locations (s3://BUCKET/KEY or PREFIX/, restic:..., rclone:...). */
  archives: string[];
  /** The manifest of the one archive: a local file or a location. */
  manifest?: string;
  /** Where the sources read their configuration (endpoint, credentials chain); default process.env. */
  env?: NodeJS.ProcessEnv;
  secrets?: string;
  /** Accept an empty backup (no audit rows, tenants or credentials) instead of failing it. */
  acceptEmpty?: boolean;
  /** Accept counts that dropped sharply against the previous backup of the same folder. */
  acceptDrop?: boolean;
  /** Public key (PEM): every manifest must carry a valid signature by it (<manifest>.dsse.json). */
  manifestPubkey?: string;
  /** Recovery-time budget from the command line (ms): applies where the manifest records none or a larger one. */
  rtoMs?: number;
  /** Over budget is a note, not a failure. */
  rtoWarn?: boolean;
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
  const env = opts.env ?? process.env;
  const remoteArgs = opts.archives.filter((a) => sourceFor(a, env) !== undefined);
  const found = expandArchives(opts.archives.filter((a) => sourceFor(a, env) === undefined));
  const secrets = opts.secrets ? readSecretsFile(opts.secrets) : undefined;
  const pubkey = opts.manifestPubkey ? loadPublicKey(opts.manifestPubkey, '--manifest-pubkey') : undefined;
  const planned: Planned = { candidates: [], unproven: [], secrets };
  // Remote locations are listed first (a prefix is a folder); an unreachable store says so before anything starts.
  const listings = await Promise.all(remoteArgs.map(async (arg) => ({ arg, source: sourceFor(arg, env)!, objects: await sourceFor(arg, env)!.list(arg) })));
  const total = found.length + listings.reduce((n, l) => n + l.objects.length, 0);
  if (opts.manifest && total > 1) throw new UsageError('--manifest names the manifest of one archive; give one archive with it', 'RD_USAGE');
  for (const { arg, source, objects } of listings) {
    if (objects.length === 0) throw new UsageError(`${source.display(arg)} holds no archive`, 'RD_NO_ARCHIVE');
    const listed = objects.length !== 1 || objects[0]!.name !== lastSegment(arg);
    for (const object of objects) await planRemote(opts, profile, planned, pubkey, env, { source, object, listed });
  }
  for (const { path: archive, folder, listed } of found) {
    if (!existsSync(archive)) throw new UsageError(`archive ${archive} does not exist`, 'RD_NO_ARCHIVE');
    if (!statSync(archive).isFile()) throw new UsageError(`archive ${archive} is not a file`, 'RD_NO_ARCHIVE');
    const manifestPath = resolve(opts.manifest ?? manifestPathFor(archive));
    if (listed && !existsSync(manifestPath)) {
      planned.unproven.push({ archive, reason: `no manifest (${basename(manifestPath)}): this archive is unproven; capture its manifest at backup time with "restore-drill manifest capture"` });
      continue;
    }
    const { manifest, sha256, bytes } = await loadManifestFile(manifestPath);
    judgeManifest(profile, manifest, manifestPath);
    const unsigned = pubkey && (await manifestSignatureProblem(manifestPath, bytes, pubkey));
    if (unsigned) {
      if (!listed) throw new UsageError(unsigned, 'RD_MANIFEST_UNSIGNED');
      planned.unproven.push({ archive, reason: unsigned });
      continue;
    }
    const policy = { acceptEmpty: opts.acceptEmpty === true || manifest.policy?.acceptEmpty === true, acceptDrop: opts.acceptDrop === true || manifest.policy?.acceptDrop === true };
    const previous = await previousManifest(folder, manifestPath, manifest);
    planned.candidates.push({ plan: { archive, manifestPath, manifestSha256: sha256, manifest, profile, secrets, policy, ...rtoOf(manifest, opts), ...(previous ? { previous } : {}) }, folder });
  }
  linkRemotePrevious(planned.candidates);
  return planned;
}

/**
 * One archive at a remote location: its manifest read beside it (KEY.manifest.json,
 * from the same snapshot for restic) or from --manifest (a file or a location),
 * judged as a local one is; nothing is fetched yet.
 */
async function planRemote(
  opts: PlanOptions,
  profile: Profile,
  planned: Planned,
  pubkey: ReturnType<typeof loadPublicKey> | undefined,
  env: NodeJS.ProcessEnv,
  { source, object, listed }: { source: ArchiveSource; object: SourceObject; listed: boolean },
): Promise<void> {
  const archive = source.display(object.location);
  const folder = object.location.slice(0, object.location.lastIndexOf('/') + 1);
  const given = opts.manifest;
  const manifestSource = given === undefined ? source : sourceFor(given, env);
  const manifestLocation = given ?? manifestPathFor(object.location);
  let loaded: { manifest: Manifest; sha256: string; bytes: Buffer };
  let manifestPath: string;
  if (manifestSource) {
    manifestPath = manifestSource.display(manifestLocation);
    const bytes = await manifestSource.readSmall(manifestLocation, MANIFEST_MAX_BYTES);
    if (bytes === undefined) {
      const reason = `no manifest (${lastSegment(manifestPath)} beside it): this archive is unproven; capture its manifest at backup time with "restore-drill manifest capture"`;
      if (listed) {
        planned.unproven.push({ archive, reason });
        return;
      }
      throw new UsageError(`${archive}: no manifest at ${manifestPath}; capture it with "restore-drill manifest capture" and store it beside the archive, or give --manifest`, 'RD_MANIFEST_UNREADABLE');
    }
    loaded = parseManifestBytes(bytes, manifestPath);
  } else {
    manifestPath = resolve(given!);
    loaded = await loadManifestFile(manifestPath);
  }
  const { manifest, sha256, bytes } = loaded;
  judgeManifest(profile, manifest, manifestPath);
  const unsigned =
    pubkey &&
    (await manifestSignatureProblem(manifestPath, bytes, pubkey, manifestSource ? (_shown, max) => manifestSource.readSmall(manifestSignaturePath(manifestLocation), max) : undefined));
  if (unsigned) {
    if (!listed) throw new UsageError(unsigned, 'RD_MANIFEST_UNSIGNED');
    planned.unproven.push({ archive, reason: unsigned });
    return;
  }
  const policy = { acceptEmpty: opts.acceptEmpty === true || manifest.policy?.acceptEmpty === true, acceptDrop: opts.acceptDrop === true || manifest.policy?.acceptDrop === true };
  planned.candidates.push({
    plan: { archive, remote: { source, location: object.location, object }, manifestPath, manifestSha256: sha256, manifest, profile, secrets: planned.secrets, policy, ...rtoOf(manifest, opts) },
    folder,
  });
}

function rtoOf(manifest: Manifest, opts: PlanOptions): { rto?: RtoBudget } {
  const rto = budgetFor(manifest, opts);
  return rto ? { rto } : {};
}

/** The manifest's application and completeness for this profile, before anything starts. */
function judgeManifest(profile: Profile, manifest: Manifest, manifestPath: string): void {
  if (manifest.app.name !== profile.name) {
    throw new UsageError(`manifest ${manifestPath} is for ${manifest.app.name}, not the ${profile.name} profile`, 'RD_PROFILE_MISMATCH');
  }
  const problems = profile.contract.manifestProblems(manifest);
  if (problems.length > 0) {
    throw new UsageError(`manifest ${manifestPath} lacks what a ${profile.name} drill must check (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${problems.join('; ')}`, 'RD_MANIFEST_INCOMPLETE');
  }
}

/**
 * The sharp-drop policy's previous backup for remote archives: the newest
 * earlier archive of the same application among those listed in the same
 * prefix (a store is not searched for neighbours the selection did not name).
 */
function linkRemotePrevious(candidates: Candidate[]): void {
  for (const c of candidates) {
    if (!c.plan.remote || c.plan.previous) continue;
    const at = Date.parse(c.plan.manifest.archive.createdAt);
    let best: Candidate | undefined;
    for (const o of candidates) {
      if (o === c || !o.plan.remote || o.folder !== c.folder || o.plan.manifest.app.name !== c.plan.manifest.app.name) continue;
      const t = Date.parse(o.plan.manifest.archive.createdAt);
      if (t < at && (!best || t > Date.parse(best.plan.manifest.archive.createdAt))) best = o;
    }
    if (best) c.plan.previous = { manifest: best.plan.manifest, path: best.plan.manifestPath };
  }
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

