import { UsageError } from './errors.ts';
import type { Profile } from './profile.ts';

/**
 * The profiles this process knows. The harness never imports an application:
 * the entry point (bin/main.ts, or a test's setup file) registers
 * them from scenarios/, and the harness looks them up by name.
 */
let registered: Profile[] = [];

export function registerProfiles(list: Profile[]): void {
  registered = [...list];
}

export function listProfiles(): Profile[] {
  return registered;
}

export function getProfile(name: string): Profile {
  const p = registered.find((x) => x.name === name);
  if (!p) throw new UsageError(`unknown profile "${name}" (known: ${registered.map((x) => x.name).join(', ') || 'none registered'})`, 'RD_UNKNOWN_PROFILE');
  return p;
}
