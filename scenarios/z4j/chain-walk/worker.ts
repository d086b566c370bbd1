import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { walkChain } from '../../../harness/checks/hmac-chain.ts';
import { ChainOrderError, chainKey, chainRows, type ChainRange, type RowidSlice, type SliceEnds } from '../audit-chain.ts';
import { walkRowidSlice } from './page-walk.ts';
import type { SegmentResult } from './parallel.ts';

/** Walks one slice of the chain in its own thread, with its own read-only connection. */
const { dbPath, generation, slice, range, secret } = workerData as { dbPath: string; generation: string; slice?: RowidSlice; range?: ChainRange; secret: string };
const db = new Database(dbPath, { readonly: true, fileMustExist: true });
const opts = { table: 'audit_log', keys: [chainKey(secret)] };
let result: SegmentResult;
try {
  if (slice) {
    const ends: SliceEnds = {};
    try {
      result = { obs: walkRowidSlice(db, generation, opts.keys, slice, ends), ends };
    } catch (e) {
      if (!(e instanceof ChainOrderError)) throw e;
      result = { disorder: true };
    }
  } else {
    result = { obs: walkChain(chainRows(db, generation, range), opts), ends: {} };
  }
  parentPort!.postMessage(result);
} finally {
  db.close();
}
