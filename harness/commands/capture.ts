import { existsSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError } from '../errors.ts';
import { manifestPathFor } from '../manifest/load.ts';
import { parseManifest } from '../manifest/load.ts';
import { getProfile } from '../profiles.ts';
import { checkOutputPath } from '../files/output-path.ts';
import { loadPrivateKey } from '../evidence/keys.ts';
import { manifestSignaturePath, signManifestText } from '../manifest/signature.ts';
import { readSecretsFile } from '../files/secrets-file.ts';
import { sourceFor } from '../sources/source-for.ts';
import { fetchArchive } from '../sources/fetch.ts';
import { lastSegment } from '../sources/display.ts';
import { makeWorkDir, removeWorkDir } from '../runtime/work-dir.ts';
import { runtimeOnFirstUse } from './runtime.ts';
import { join } from 'node:path';

export interface CaptureOptions {
  profile: string;
  archive: string;
  secrets?: string;
  appVersion?: string;
  out?: string;
  force?: boolean;
  /** Ed25519 private key (PEM): also write <manifest>.dsse.json, a signature over the manifest's exact bytes. */
  sign?: string;
  /** Record in the manifest that this backup may be empty (an empty instance is expected). */
  acceptEmpty?: boolean;
  /** Record a recovery-time budget (ms; stored in whole seconds, rounded up). */
  rtoMs?: number;
  env?: NodeJS.ProcessEnv;
  say: (line: string) => void;
}

/**
 * Reads a finished backup and writes its manifest next to it (or to --out).
 * An archive at a location (s3://, restic:, rclone:) is fetched once into a
 * private work folder, read there and removed; the manifest is written to
 * --out (a store is never written to), to be stored beside the archive as
 * KEY.manifest.json.
 */
export async function captureCommand(opts: CaptureOptions): Promise<number> {
  const env = opts.env ?? process.env;
  const source = sourceFor(opts.archive, env);
  if (!source) return captureLocal(opts, resolve(opts.archive));
  if (!opts.out) {
    throw new UsageError(`${source.display(opts.archive)}: give --out FILE for the manifest of an archive in a store (restore-drill reads stores, never writes them); then store it beside the archive as ${lastSegment(source.display(opts.archive))}.manifest.json`, 'RD_USAGE');
  }
  checkOutputPath(opts.out, 'manifest', { createParents: false });
  const [object] = await source.list(opts.archive);
  if (!object || object.name !== lastSegment(opts.archive)) throw new UsageError(`${source.display(opts.archive)}: names a prefix or folder; capture names one archive`, 'RD_SOURCE_PREFIX');
  const dir = await makeWorkDir('capture');
  try {
    const local = join(dir, object.name.replace(/[^A-Za-z0-9._-]/g, '_'));
    await fetchArchive(source, object.location, local);
    opts.say(`fetched ${source.display(object.location)}${object.version ? ` (version ${object.version})` : ''}`);
    return await captureLocal(opts, local);
  } finally {
    await removeWorkDir(dir);
  }
}

async function captureLocal(opts: CaptureOptions, archive: string): Promise<number> {
  const profile = getProfile(opts.profile);
  if (!existsSync(archive) || !statSync(archive).isFile()) throw new UsageError(`archive ${opts.archive} does not exist or is not a file`, 'RD_NO_ARCHIVE');
  const target = checkOutputPath(opts.out ?? manifestPathFor(archive), 'manifest', { createParents: false });
  if (existsSync(target) && !opts.force) throw new UsageError(`${target} exists; use --force to replace it`, 'RD_MANIFEST_EXISTS');
  if (opts.sign) checkOutputPath(manifestSignaturePath(target), 'manifest signature', { createParents: false });
  const secrets = opts.secrets ? readSecretsFile(opts.secrets) : undefined;
  for (const w of secrets?.warnings ?? []) opts.say(`warning: ${w}`);
  const key = opts.sign ? loadPrivateKey(opts.sign) : undefined;
  const captured = await profile.capture({
    archive,
    ...(secrets ? { secrets } : {}),
    ...(opts.appVersion ? { appVersion: opts.appVersion } : {}),
    warn: (w) => opts.say(`warning: ${w}`),
    runtime: runtimeOnFirstUse(),
  });
  const policy = { ...captured.policy, ...(opts.acceptEmpty ? { acceptEmpty: true } : {}), ...(opts.rtoMs !== undefined ? { rtoSeconds: Math.ceil(opts.rtoMs / 1000) } : {}) };
  const manifest = Object.keys(policy).length > 0 ? { ...captured, policy } : captured;
  parseManifest(manifest, 'the captured manifest'); // a bug here must not write a file the drill would refuse
  // A manifest the drill would refuse is not written: a thin one would give a false sense of cover.
  const problems = profile.contract.manifestProblems(manifest);
  if (problems.length > 0) throw new UsageError(`${opts.archive}: the manifest would lack what a ${profile.name} drill must check: ${problems.join('; ')}`, 'RD_MANIFEST_INCOMPLETE');
  const empty = profile.contract.emptiness(manifest);
  if (empty.length > 0) {
    opts.say(
      `warning: ${opts.archive} is an empty backup (${empty.join('; ')}); ${opts.acceptEmpty ? 'recorded as accepted (--accept-empty)' : 'its drills will fail unless this is expected (capture with --accept-empty)'}`,
    );
  }
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  await writeFile(target, text);
  opts.say(`manifest: ${target}`);
  if (key) {
    const sigPath = manifestSignaturePath(target);
    await writeFile(sigPath, signManifestText(Buffer.from(text), key));
    opts.say(`manifest signature: ${sigPath}`);
  }
  return 0;
}
