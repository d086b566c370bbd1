import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.ts';
import { getProfile, listProfiles } from '../profiles.ts';
import { setupCommand } from './setup.ts';
import { captureCommand } from './capture.ts';
import { runCommand } from './run.ts';
import { runtimeOnFirstUse } from './runtime.ts';

/**
 * The main job end to end: the host made ready, a sample deployment made and
 * backed up by the application itself (the profile's part), its manifest
 * captured and the backup drilled, exactly as a user would run each step.
 */
export async function demoCommand(opts: { profile?: string; out: string; say: (l: string) => void }): Promise<number> {
  const profile = opts.profile ? getProfile(opts.profile) : listProfiles().find((p) => p.demo);
  if (!profile) throw new UsageError('no registered profile has a demo', 'RD_USAGE');
  if (!profile.demo) throw new UsageError(`the ${profile.name} profile has no demo`, 'RD_USAGE');
  const say = opts.say;
  const outDir = resolve(opts.out);
  await setupCommand({ profile: profile.name, version: [profile.defaultVersion], say });
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const made = await profile.demo({ outDir, runtime: await runtimeOnFirstUse({ say })(), say });
  say(`backup: ${made.archive}${made.secrets ? ` (secrets: ${made.secrets})` : ''}`);
  await captureCommand({ profile: profile.name, archive: made.archive, ...(made.secrets ? { secrets: made.secrets } : {}), say });
  const json = join(outDir, 'drill-report.json');
  const code = await runCommand({
    profile: profile.name,
    archives: [made.archive],
    ...(made.secrets ? { secrets: made.secrets } : {}),
    json,
    out: (l) => process.stdout.write(`${l}\n`),
    say,
  });
  say(`verdict written to ${json}`);
  return code;
}
