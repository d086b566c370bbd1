import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where restore-drill keeps state (history, logs): $XDG_STATE_HOME/restore-drill. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.RESTORE_DRILL_STATE_DIR ?? join(env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'restore-drill');
}

/** Where restore-drill keeps caches (wheelhouses, root file systems): $XDG_CACHE_HOME/restore-drill. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.RESTORE_DRILL_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'restore-drill');
}
