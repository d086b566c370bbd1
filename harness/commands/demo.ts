import { resolve } from 'node:path';
import { UsageError } from '../errors.ts';
import { getProfile } from '../profiles.ts';

export async function demoCommand(opts: { profile: string; out: string; say: (l: string) => void }): Promise<number> {
  const profile = getProfile(opts.profile);
  if (!profile.demo) throw new UsageError(`the ${profile.name} profile has no demo`, 'RD_USAGE');
  return profile.demo({ outDir: resolve(opts.out), say: opts.say });
}
