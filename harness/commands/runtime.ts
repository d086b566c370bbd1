import { dockerRuntime } from '../runtime/docker.ts';
import { ensureEngine } from '../runtime/engine.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { sweep } from '../runtime/sweep.ts';

/**
 * The command's engine as the Runtime it hands down, found on first use and
 * kept: a capture of a SQLite file, or a backup refused for its URL, never
 * reaches an engine. Only commands find the engine (.dependency-cruiser.cjs:
 * engine-found-below-commands); profiles and their sample deployments use
 * the Runtime they are given. `sweep`: leftovers of dead harness processes
 * are removed first.
 */
export function runtimeOnFirstUse(opts: { say?: (line: string) => void; sweep?: boolean } = {}): () => Promise<Runtime> {
  let found: Promise<Runtime> | undefined;
  return () =>
    (found ??= (async () => {
      const engine = await ensureEngine(opts.say ? { say: opts.say } : {});
      if (opts.sweep) await sweep(engine.docker);
      return dockerRuntime(engine);
    })());
}
