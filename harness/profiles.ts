import { UsageError } from './errors.ts';
import type { Profile } from './profile.ts';
import { profiles } from '../scenarios/index.ts';

/** Profiles are registered in scenarios/index.ts; the harness only looks them up by name. */
export function listProfiles(): Profile[] {
  return profiles;
}

export function getProfile(name: string): Profile {
  const p = profiles.find((x) => x.name === name);
  if (!p) throw new UsageError(`unknown profile "${name}" (known: ${profiles.map((x) => x.name).join(', ')})`, 'RD_UNKNOWN_PROFILE');
  return p;
}
