// One timed walk in a fresh process: argv = DB path and thread count; the secret on stdin.
import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { walkZ4jChainFast } from '../scenarios/z4j/sqlite-facts.ts';
import { nativeWalker } from '../scenarios/z4j/chain-walk/native.ts';

const [dbPath, threads] = process.argv.slice(2) as [string, string];
const secret = readFileSync(0, 'utf8');
const db = new Database(dbPath, { readonly: true });
const t = performance.now();
const obs = (await walkZ4jChainFast(db, dbPath, secret, Number(threads)))!;
const seconds = (performance.now() - t) / 1000;
console.log(JSON.stringify({ rows: obs.length, threads: Number(threads), rowsPerSecond: obs.length / seconds, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024), verified: obs.verifiedRows, walk: nativeWalker() ? 'native' : 'JavaScript' }));
