import type { Manifest } from '../manifest/schema.ts';
import type { Profile } from '../profile.ts';

/** No command run in a drill container is given less than this. */
export const COMMAND_LIMIT_FLOOR_MS = 300_000;

/**
 * The limit for one command in a drill container: --exec-timeout when given,
 * else what the profile derives from the archive (an application's restore of
 * a long chain can take many minutes), never under the floor. A fixed limit
 * would make every genuine large backup end `error`.
 */
export function commandLimit(profile: Pick<Profile, 'commandTimeoutMs'>, manifest: Manifest, explicitMs?: number): { ms: number; explicit: boolean } {
  if (explicitMs !== undefined) return { ms: explicitMs, explicit: true };
  return { ms: Math.max(COMMAND_LIMIT_FLOOR_MS, Math.ceil(profile.commandTimeoutMs?.(manifest) ?? 0)), explicit: false };
}
