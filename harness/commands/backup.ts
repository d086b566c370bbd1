import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError } from '../errors.ts';
import { manifestPathFor, parseManifest } from '../manifest/load.ts';
import { getProfile } from '../profiles.ts';
import { readSecretsFile } from '../files/secrets-file.ts';
import { runtimeOnFirstUse } from './runtime.ts';

export interface BackupOptions {
  profile: string;
  source: string;
  out: string;
  secrets?: string;
  appVersion?: string;
  network?: string;
  say: (line: string) => void;
}

/**
 * Backs up a live system the way its application does and writes the
 * manifest from the same state (for databases: the same snapshot), so the
 * expectations match the archive exactly even while the system takes writes.
 */
export async function backupCommand(opts: BackupOptions): Promise<number> {
  const profile = getProfile(opts.profile);
  if (!profile.backup) throw new UsageError(`the ${profile.name} profile cannot take backups itself; back up with the application and use "manifest capture"`, 'RD_NO_BACKUP');
  const out = resolve(opts.out);
  if (existsSync(out)) throw new UsageError(`${out} exists: refusing to overwrite a backup`, 'RD_ARCHIVE_EXISTS');
  if (existsSync(manifestPathFor(out))) throw new UsageError(`${manifestPathFor(out)} exists: refusing to overwrite its manifest`, 'RD_MANIFEST_EXISTS');
  const secrets = opts.secrets ? readSecretsFile(opts.secrets) : undefined;
  for (const w of secrets?.warnings ?? []) opts.say(`warning: ${w}`);
  // The profile checks its own input (e.g. the URL) before it reaches an engine.
  const { archive, manifest } = await profile.backup({
    source: opts.source,
    output: out,
    ...(secrets ? { secrets } : {}),
    ...(opts.appVersion ? { appVersion: opts.appVersion } : {}),
    ...(opts.network ? { network: opts.network } : {}),
    runtime: runtimeOnFirstUse({ say: opts.say, sweep: true }),
    say: opts.say,
  });
  parseManifest(manifest, 'the captured manifest');
  const target = manifestPathFor(archive);
  await writeFile(target, `${JSON.stringify(manifest, null, 2)}\n`);
  opts.say(`backup: ${archive}`);
  opts.say(`manifest: ${target}`);
  return 0;
}
