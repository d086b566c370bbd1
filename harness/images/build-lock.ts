import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { stateDir } from '../paths.ts';
import { ownerAlive } from '../runtime/owner.ts';
import { OWNER_HOST_LABEL, OWNER_PID_LABEL } from '../runtime/labels.ts';

/** Builds under way in this process, by key: a second drill needing the same image waits for the first build. */
const inProcess = new Map<string, Promise<unknown>>();

/**
 * Runs `build` for `key` once at a time, across drills of this process (a
 * shared promise) and across processes on this host (a lock file naming its
 * owner; a dead owner's lock is taken over). Without it two drills needing the
 * same missing image build it at once, and a half-built tree can be imported
 * under the cache tag. `build` should first look whether another holder
 * already made what it needs.
 */
export function withBuildLock<T>(key: string, build: () => Promise<T>, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const running = inProcess.get(key) as Promise<T> | undefined;
  if (running) return running.catch(() => withBuildLock(key, build, env));
  const p = (async () => {
    const release = await acquire(key, env);
    try {
      return await build();
    } finally {
      release();
    }
  })();
  inProcess.set(key, p);
  void p.finally(() => inProcess.delete(key)).catch(() => {});
  return p;
}

async function acquire(key: string, env: NodeJS.ProcessEnv): Promise<() => void> {
  const dir = join(stateDir(env), 'locks');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${key.replace(/[^A-Za-z0-9._-]/g, '_')}.lock`);
  const owner = JSON.stringify({ [OWNER_PID_LABEL]: String(process.pid), [OWNER_HOST_LABEL]: hostname() });
  for (;;) {
    try {
      writeFileSync(file, owner, { flag: 'wx', mode: 0o600 });
      return () => rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder: Record<string, string> = {};
    try {
      holder = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    } catch {
      // Being written this instant, or damaged: look again shortly.
    }
    if (Object.keys(holder).length > 0 && !ownerAlive(holder)) rmSync(file, { force: true });
    else await new Promise((r) => setTimeout(r, 500));
  }
}
