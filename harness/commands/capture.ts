import { existsSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError } from '../errors.ts';
import { SecretBag } from '../drill/secrets.ts';
import { manifestPathFor } from '../manifest/load.ts';
import { parseManifest } from '../manifest/load.ts';
import { getProfile } from '../profiles.ts';

export interface CaptureOptions {
  profile: string;
  archive: string;
  secrets?: string;
  appVersion?: string;
  out?: string;
  force?: boolean;
  say: (line: string) => void;
}

/** Reads a finished backup and writes its manifest next to it (or to --out). */
export async function captureCommand(opts: CaptureOptions): Promise<number> {
  const profile = getProfile(opts.profile);
  const archive = resolve(opts.archive);
  if (!existsSync(archive) || !statSync(archive).isFile()) throw new UsageError(`archive ${opts.archive} does not exist or is not a file`, 'RD_NO_ARCHIVE');
  const target = resolve(opts.out ?? manifestPathFor(archive));
  if (existsSync(target) && !opts.force) throw new UsageError(`${target} exists; use --force to replace it`, 'RD_MANIFEST_EXISTS');
  const secrets = opts.secrets ? SecretBag.fromFile(opts.secrets) : undefined;
  const manifest = await profile.capture({ archive, ...(secrets ? { secrets } : {}), ...(opts.appVersion ? { appVersion: opts.appVersion } : {}) });
  parseManifest(manifest, 'the captured manifest'); // a bug here must not write a file the drill would refuse
  await writeFile(target, `${JSON.stringify(manifest, null, 2)}\n`);
  opts.say(`manifest: ${target}`);
  return 0;
}
