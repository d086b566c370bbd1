import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { stitchSegments } from '../../../harness/checks/hmac-chain.ts';
import type { ChainObservation } from '../../../harness/model/types.ts';
import { chainCuts, chainKey, keyAfter, type ChainRange, type RowidSlice, type SliceEnds } from '../audit-chain.ts';
import { nativeWalker, walkNative } from './native.ts';
import { auditLayout } from './page-walk.ts';
import { InternalError } from '../../../harness/errors.ts';

/** Below this many rows a single thread is faster than starting workers. */
export const PARALLEL_MIN_ROWS = 50_000;

/** What one worker sends back: its slice's walk and end keys, or that its rows were not in chain order. */
export type SegmentResult = { obs: ChainObservation; ends: SliceEnds; disorder?: undefined } | { disorder: true };

/**
 * Walks the chain in slices on all cores. First by rowid ranges (table scans,
 * no cutting query; natively where the native walk is built, a worker for
 * each slice it does not find clean): each slice checks its rows come in
 * chain order, and the joins between slices are checked here; if any of
 * that fails, the chain is walked again in (occurred_at, id) slices. Only
 * linking is sequential, and the one link between two slices is checked when
 * they are stitched together. The secret reaches the workers in memory
 * (workerData) and the native walk on its stdin, never argv or env.
 */
export async function walkInParallel(db: Database.Database, dbPath: string, generation: string, length: number, secret: string, threads = availableParallelism()): Promise<ChainObservation> {
  const parts = Math.max(1, threads);
  const bounds = db.prepare('SELECT min(rowid) AS lo, max(rowid) AS hi FROM audit_log').get() as { lo: number | null; hi: number | null };
  if (bounds.lo !== null && bounds.hi !== null) {
    const span = bounds.hi + 1 - bounds.lo;
    const slices: RowidSlice[] = [];
    for (let k = 0; k < parts; k++) {
      slices.push({ ...(k > 0 ? { lo: bounds.lo + Math.floor((span * k) / parts) } : {}), ...(k < parts - 1 ? { hi: bounds.lo + Math.floor((span * (k + 1)) / parts) } : {}) });
    }
    // The native walk first, all slices at once; a slice it does not find clean goes to a worker, which decides.
    const bin = nativeWalker();
    const layout = bin ? auditLayout(db) : undefined;
    const native = bin && layout ? await walkNative(bin, dbPath, layout, generation, [chainKey(secret)], slices) : [];
    const byRowid = await Promise.all(
      slices.map((slice, k): SegmentResult | Promise<SegmentResult> => {
        const n = native[k];
        if (n?.status === 'clean') return { obs: n.obs, ends: n.ends };
        if (n?.status === 'disorder') return { disorder: true };
        return runWorker({ dbPath, generation, slice, secret });
      }),
    );
    const walked = byRowid.filter((r): r is Extract<SegmentResult, { obs: ChainObservation }> => !r.disorder);
    if (walked.length === byRowid.length && joinsInOrder(walked.map((r) => r.ends))) return stitchSegments('audit_log', walked.map((r) => r.obs));
  }
  // Rows not stored in chain order: slices cut by key instead (one OFFSET query per cut).
  const cuts = chainCuts(db, generation, length, parts);
  const ranges: ChainRange[] = [];
  for (let k = 0; k <= cuts.length; k++) ranges.push({ ...(k > 0 ? { from: cuts[k - 1]! } : {}), ...(k < cuts.length ? { to: cuts[k]! } : {}) });
  const byKey = await Promise.all(ranges.map((range) => runWorker({ dbPath, generation, range, secret })));
  return stitchSegments('audit_log', byKey.map((r) => (r.disorder ? fail() : r.obs)));
}

function fail(): never {
  throw new InternalError('a chain walk worker reported rows out of order on the ordered query');
}

/** Each non-empty slice must start strictly after the one before it ended. */
function joinsInOrder(ends: SliceEnds[]): boolean {
  let last: [string, string] | undefined;
  for (const e of ends) {
    if (!e.first || !e.last) continue;
    if (last && !keyAfter(last[0], last[1], e.first[0], e.first[1])) return false;
    last = e.last;
  }
  return true;
}

function runWorker(data: { dbPath: string; generation: string; slice?: RowidSlice; range?: ChainRange; secret: string }): Promise<SegmentResult> {
  return new Promise<SegmentResult>((resolve, reject) => {
    const w = new Worker(new URL('./worker.mjs', import.meta.url), {
      workerData: data,
      // Rows stream through; a small young generation keeps each thread's footprint down.
      resourceLimits: { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 128 },
    });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => code !== 0 && reject(new InternalError(`chain walk worker exited with ${code}`)));
  });
}
