import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { stitchSegments } from '../../../harness/checks/hmac-chain.ts';
import type { ChainObservation } from '../../../harness/drill/types.ts';
import { chainCuts, type ChainRange } from '../audit-chain.ts';

/** Below this many rows a single thread is faster than starting workers. */
export const PARALLEL_MIN_ROWS = 50_000;

/**
 * Walks the chain in slices on all cores. Only linking is sequential, and the
 * one link between two slices is checked when they are stitched together.
 * The secret reaches the workers in memory (workerData), never argv or env.
 */
export async function walkInParallel(db: Database.Database, dbPath: string, generation: string, length: number, secret: string, threads = availableParallelism()): Promise<ChainObservation> {
  const cuts = chainCuts(db, generation, length, Math.max(1, threads));
  const ranges: ChainRange[] = [];
  for (let k = 0; k <= cuts.length; k++) ranges.push({ ...(k > 0 ? { from: cuts[k - 1]! } : {}), ...(k < cuts.length ? { to: cuts[k]! } : {}) });
  const segments = await Promise.all(
    ranges.map(
      (range) =>
        new Promise<ChainObservation>((resolve, reject) => {
          const w = new Worker(new URL('./worker.mjs', import.meta.url), {
            workerData: { dbPath, generation, range, secret },
            // Rows stream through; a small young generation keeps each thread's footprint down.
            resourceLimits: { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 128 },
          });
          w.once('message', resolve);
          w.once('error', reject);
          w.once('exit', (code) => code !== 0 && reject(new Error(`chain walk worker exited with ${code}`)));
        }),
    ),
  );
  return stitchSegments('audit_log', segments);
}
