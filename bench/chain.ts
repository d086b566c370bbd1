/**
 * npm run bench:chain — the harness's audit-chain walk against z4j's own
 * `z4j audit verify`, on real z4j data.
 *
 * 1. A real z4j deployment (pinned version) seeded with BASE_ROWS audit rows by
 *    z4j's own signing code, backed up by `z4j backup`.
 * 2. `z4j audit verify` timed in a container on that database.
 * 3. The harness's walk timed on the same database, then on copies grown to
 *    100k and 2M rows (rows appended after the real head, signed with the same
 *    key and recipe), on one thread and on all cores, with peak RSS measured in
 *    a fresh process for each run: the native walk (scenarios/z4j/chain-walk/
 *    native), then the JavaScript walk alone (RESTORE_DRILL_NATIVE_WALK=0).
 * 4. This machine's HMAC-SHA256 limit for messages of the chain's median length
 *    (`openssl speed -hmac sha256`, one core), and each walk as a fraction of it;
 *    also Node's own HMAC alone on the same messages (createHmac, and the walk's
 *    verifier on ready-made messages), the ceiling of any walk in this runtime,
 *    and each walk as a fraction of the faster.
 * Prints figures; asserts nothing about time (shared machines are noisy).
 */
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism, tmpdir } from 'node:os';
import { newDrillId } from '../harness/runtime/index.ts';
import { testRuntime } from '../test/helpers/test-runtime.ts';
import { ensureEngine } from '../harness/runtime/engine.ts';
import { makeZ4jDeployment } from '../scenarios/z4j/sample/deployment.ts';
import { z4jImage } from '../scenarios/z4j/image.ts';
import { Z4J_PINNED_VERSION } from '../scenarios/z4j/version.ts';
import { Z4J_HOME } from '../scenarios/z4j/tables.ts';
import { growChain } from '../scenarios/z4j/sample/grow-chain.ts';
import Database from 'better-sqlite3';
import { chainKey, chainRows, readChainState } from '../scenarios/z4j/audit-chain.ts';
import { HMAC_BLOCK, walkChain, type ChainRow } from '../harness/checks/hmac-chain.ts';
import { readSecretsFile } from '../harness/files/secrets-file.ts';

const BASE_ROWS = Number(process.env.BENCH_BASE_ROWS ?? 20_000);
const SIZES = (process.env.BENCH_SIZES ?? '100000,2000000').split(',').map(Number);
const dir = join(tmpdir(), 'restore-drill-bench');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const say = (l: string) => process.stderr.write(`bench: ${l}\n`);

await ensureEngine({ install: true, say }); // as setup would: installed and started where it can be
const runtime = await testRuntime();
const dep = await makeZ4jDeployment({ runtime, version: Z4J_PINNED_VERSION, outDir: dir, name: 'base.db', auditRows: BASE_ROWS, say });
const secret = readSecretsFile(dep.secrets).get('Z4J_AUDIT_CHAIN_SECRET')!;

// z4j's own verify, in its own container, on the real database.
const image = await runtime.image(z4jImage(Z4J_PINNED_VERSION));
const z4jRate = await (async () => {
  await using c = await runtime.start({ image: image.tag, drillId: newDrillId() });
  await c.writeFile(`${Z4J_HOME}/secret.env`, readSecretsFile(dep.secrets).raw, 0o600);
  await c.copyIn(dep.archive, `${Z4J_HOME}/z4j.db`, 0o600);
  const r = await c.exec(['z4j', 'audit', 'verify'], { timeoutMs: 1_800_000, env: { Z4J_HOME } });
  const verified = Number(/verified active:\s*([\d,]+)/.exec(r.stdout)?.[1]?.replace(/,/g, '') ?? NaN);
  return { verified, seconds: r.durationMs / 1000, exit: r.exitCode };
})();

interface Run { rows: number; threads: number; rowsPerSecond: number; peakRssMb: number; verified: number; walk: string }
/** One walk in a fresh process (peak RSS then belongs to that walk alone), natively or, with native = false, in JavaScript only. */
function walk(db: string, threads: number, native: boolean): Run {
  const out = execFileSync(process.execPath, ['--import', 'tsx', new URL('./walk-once.ts', import.meta.url).pathname, db, String(threads)], {
    input: secret, // the secret on stdin: never in argv or the environment
    encoding: 'utf8',
    maxBuffer: 1 << 20,
    env: { ...process.env, RESTORE_DRILL_NATIVE_WALK: native ? '1' : '0' },
  });
  return JSON.parse(out.trim().split('\n').pop()!) as Run;
}

const runs: Run[] = [];
for (const native of [true, false]) runs.push(walk(dep.archive, 1, native));
for (const size of SIZES) {
  const grown = join(dir, `grown-${size}.db`);
  say(`growing the chain to ${size} rows`);
  growChain(dep.archive, grown, secret, size);
  for (const native of [true, false]) {
    runs.push(walk(grown, 1, native));
    runs.push(walk(grown, availableParallelism(), native));
  }
  rmSync(grown, { force: true });
}

// The signed messages' median length, and what one core of this machine can HMAC at that length.
const messages = (() => {
  const db = new Database(dep.archive, { readonly: true });
  try {
    const out: Buffer[] = [];
    for (const r of chainRows(db, readChainState(db)!.generation)) {
      out.push(Buffer.from(r.message as string)); // the SQLite reader yields text
      if (out.length >= 2000) break;
    }
    return out;
  } finally {
    db.close();
  }
})();
const messageBytes = messages.map((m) => m.length).sort((a, b) => a - b)[Math.floor(messages.length / 2)]!;
// Node's HMAC alone, one core, on the same messages already built: createHmac per message, and the
// walk's own verifier over messages laid out as the page reader lays them out (two one-shot hashes).
// The walk cannot beat the faster of the two in this runtime.
const perSecond = (round: () => number): number => {
  let n = 0;
  const t = performance.now();
  while (performance.now() - t < 3000) n += round();
  return n / ((performance.now() - t) / 1000);
};
const createHmacPerCore = perSecond(() => {
  const key = Buffer.from(secret, 'utf8');
  for (const m of messages) createHmac('sha256', key).update(m).digest('hex');
  return messages.length;
});
const walkerHmacPerCore = (() => {
  const key = chainKey(secret);
  const rows: ChainRow[] = messages.map((m, i) => {
    const buf = Buffer.alloc(HMAC_BLOCK + m.length);
    m.copy(buf, HMAC_BLOCK);
    return { id: String(i), prevHmac: null, rowHmac: createHmac('sha256', key.key).update(m).digest('hex'), message: { buf, end: buf.length } };
  });
  rows.forEach((r, i) => i > 0 && (r.prevHmac = rows[i - 1]!.rowHmac)); // linked, so the walk notes no problems
  return perSecond(() => {
    const obs = walkChain(rows, { table: 'audit_log', keys: [{ key: key.key }] });
    if (obs.verifiedRows !== rows.length) throw new Error('the verifier rejected rows it signed');
    return rows.length;
  });
})();
const nodeHmacPerCore = Math.max(createHmacPerCore, walkerHmacPerCore);
const hmacPerCore = (() => {
  const out = execFileSync('openssl', ['speed', '-seconds', '3', '-bytes', String(messageBytes), '-hmac', 'sha256'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const k = Number(/^hmac\(sha256\)\s+([\d.]+)k/m.exec(out)?.[1] ?? NaN); // thousands of bytes per second
  return (k * 1000) / messageBytes;
})();

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
console.log(`\naudit-chain walk (z4j ${Z4J_PINNED_VERSION}, ${availableParallelism()} cores)`);
console.log(`z4j audit verify (in its container): ${fmt(z4jRate.verified)} rows in ${z4jRate.seconds.toFixed(1)} s = ${fmt(z4jRate.verified / z4jRate.seconds)} rows/s (exit ${z4jRate.exit})`);
console.log(`HMAC-SHA256 limit here (openssl, one core, ${messageBytes}-byte messages, the chain's median): ${fmt(hmacPerCore)} per second`);
console.log(`Node's HMAC alone on the same messages (one core): createHmac ${fmt(createHmacPerCore)} per second, the walk's two one-shot hashes ${fmt(walkerHmacPerCore)}`);
console.log('walk        rows        threads  rows/s      of limit  of Node HMAC  peak RSS  verified');
for (const r of runs) {
  const share = r.rowsPerSecond / (hmacPerCore * Math.min(r.threads, availableParallelism()));
  const nodeShare = r.rowsPerSecond / (nodeHmacPerCore * Math.min(r.threads, availableParallelism()));
  console.log(
    `${r.walk.padEnd(11)} ${fmt(r.rows).padEnd(11)} ${String(r.threads).padEnd(8)} ${fmt(r.rowsPerSecond).padEnd(11)} ${`${(share * 100).toFixed(1)} %`.padEnd(9)} ${`${(nodeShare * 100).toFixed(1)} %`.padEnd(13)} ${String(r.peakRssMb).padEnd(5)} MB  ${fmt(r.verified)}`,
  );
}
console.log('targets: >= 250,000 rows/s on one thread, >= 450,000 rows/s on two, peak RSS <= 256 MB at 2M rows');
rmSync(dir, { recursive: true, force: true });
