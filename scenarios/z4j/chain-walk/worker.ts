import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { walkChain } from '../../../harness/checks/hmac-chain.ts';
import { chainKey, chainRows, type ChainRange } from '../audit-chain.ts';

/** Walks one slice of the chain in its own thread, with its own read-only connection. */
const { dbPath, generation, range, secret } = workerData as { dbPath: string; generation: string; range: ChainRange; secret: string };
const db = new Database(dbPath, { readonly: true, fileMustExist: true });
try {
  parentPort!.postMessage(walkChain(chainRows(db, generation, range), { table: 'audit_log', keys: [chainKey(secret)] }));
} finally {
  db.close();
}
