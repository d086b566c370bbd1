/**
 * npm run bench:pg — a z4j PostgreSQL drill of a dump holding 1M audit rows.
 *
 * 1. A real z4j deployment on PostgreSQL seeded with BENCH_PG_ROWS (default
 *    1,000,000) audit rows by z4j's own signing code (seed.py bulk mode), then
 *    `restore-drill backup` (pg_dump of an exported snapshot, z4j's flags, with
 *    the manifest read from the same snapshot). Cached: later runs reuse it.
 * 2. The drill, timed stage by stage: how long z4j's own restore takes, how
 *    long z4j's commands take in all, and the harness's share (integrity,
 *    inspect, its own reading of the restored database, compare).
 * 3. For reference only: plain pg_restore of the same dump as z4j runs it
 *    (--single-transaction) and with --jobs, on a scratch server. z4j cannot
 *    use --jobs: it passes --single-transaction, which pg_restore refuses to
 *    combine with --jobs, and a drill must restore with the application's own
 *    command.
 * Prints figures; asserts nothing about time (shared machines are noisy).
 */
import { dockerRuntime } from '../harness/runtime/docker.ts';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { backupCommand } from '../harness/commands/backup.ts';
import { planDrills } from '../harness/drill/plan.ts';
import { runDrill } from '../harness/drill/run-drill.ts';
import { postgresImage } from '../harness/images/postgres.ts';
import { cacheDir } from '../harness/paths.ts';
import type { DrillContext } from '../harness/profile.ts';
import { newDrillId } from '../harness/runtime/index.ts';
import { testRuntime } from '../test/helpers/test-runtime.ts';
import { ensureEngine } from '../harness/runtime/engine.ts';
import { POSTGRES_COMMAND, psql, waitForPostgres } from '../harness/runtime/postgres.ts';
import { z4jProfile } from '../scenarios/z4j/index.ts';
import { makeZ4jPgDeployment } from '../scenarios/z4j/pg/sample/deployment.ts';
import { Z4J_PG_TEST_MAJOR } from '../scenarios/z4j/pg/image.ts';
import { Z4jSession } from '../scenarios/z4j/session.ts';
import { pgBackend } from '../scenarios/z4j/pg/backend.ts';
import { Z4J_PINNED_VERSION } from '../scenarios/z4j/version.ts';
import '../test/helpers/register-profiles.ts';

const ROWS = Number(process.env.BENCH_PG_ROWS ?? 1_000_000);
const dir = join(cacheDir(), 'bench', `z4j-pg${Z4J_PG_TEST_MAJOR}-${Z4J_PINNED_VERSION}-${ROWS}`);
const archive = join(dir, 'bench.dump');
const secrets = join(dir, 'secret.env');
const say = (l: string) => process.stderr.write(`bench: ${l}\n`);
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

const engine = await ensureEngine({ install: true, say });

if (!existsSync(`${archive}.manifest.json`)) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const t0 = performance.now();
  const live = await makeZ4jPgDeployment({ runtime: await testRuntime(), version: Z4J_PINNED_VERSION, pgMajor: Z4J_PG_TEST_MAJOR, outDir: dir, name: 'z4j-backup.dump', auditRows: ROWS, say });
  try {
    say(`seeded ${ROWS} audit rows and ran z4j backup in ${s(performance.now() - t0)}`);
    renameSync(live.secrets, secrets);
    rmSync(live.archive); // z4j's own backup proved the deployment; the drilled dump is the snapshot one below
    const t1 = performance.now();
    const { host, port, user, database } = live.database;
    await backupCommand({ profile: 'z4j', source: `postgresql://${user}@${host}:${port}/${database}`, out: archive, secrets, say });
    say(`restore-drill backup (snapshot dump + manifest from the same snapshot): ${s(performance.now() - t1)}`);
  } finally {
    await live.stop();
  }
} else say(`reusing ${archive}`);

// The drill, with the session kept to read where its time went.
let session: Z4jSession | undefined;
const profile = { ...z4jProfile, session: (ctx: DrillContext) => (session = new Z4jSession(ctx, pgBackend())) };
const [plan] = await planDrills({ profile: 'z4j', archives: [archive], secrets });
const report = await runDrill({ ...plan!, profile }, { runtime: dockerRuntime(engine), execTimeoutMs: 3_600_000 });
if (report.verdict !== 'passed') {
  say(`drill ${report.verdict}: ${report.summary}`);
  process.exitCode = 1;
}
const stage = (n: string) => report.stages.find((x) => x.name === n)?.durationMs ?? 0;
const t = session!.timings;
const harness = stage('integrity') + stage('inspect') + t.harnessReadMs + stage('compare');
const lines = [
  `z4j ${Z4J_PINNED_VERSION}, PostgreSQL ${Z4J_PG_TEST_MAJOR}, ${plan!.manifest.expectations.counts.audit_log} audit rows, dump ${(plan!.manifest.archive.sizeBytes / 1048576).toFixed(1)} MiB`,
  `drill verdict: ${report.verdict} (${report.summary})`,
  `drill total: ${s(report.durationMs)}`,
  `  stages: ${report.stages.map((x) => `${x.name} ${s(x.durationMs)}`).join(', ')}`,
  `  z4j restore --force (the restore itself): ${s(t.restoreMs)}`,
  `  all z4j commands (migrate, restore, check, migrate current, status, audit verify): ${s(t.appCommandsMs)}`,
  `  harness's own work (integrity sha256, inspect incl. inflating every block, pg reads + chain walk ${s(t.harnessReadMs)}, compare): ${s(harness)} = ${((100 * harness) / report.durationMs).toFixed(1)} % of the drill`,
  `  the rest (containers, server start, copies): ${s(report.durationMs - harness - t.appCommandsMs)}`,
];

// Reference: plain pg_restore of the same dump, as z4j runs it and with --jobs.
const drillId = newDrillId();
const servers = await testRuntime();
const net = await servers.privateNetwork(drillId);
const server = await servers.image(postgresImage(Z4J_PG_TEST_MAJOR));
const db = await servers.start({ image: server.tag, drillId, network: net.name, command: POSTGRES_COMMAND, labels: { 'io.restore-drill.role': 'bench' } });
try {
  await waitForPostgres(db);
  await db.copyIn(archive, '/tmp/bench.dump', 0o644);
  for (const [name, args] of [
    ['--single-transaction (as z4j runs it)', ['--single-transaction']],
    ['--jobs 2 (not possible through z4j)', ['--jobs', '2']],
  ] as const) {
    const target = `ref_${name.startsWith('--jobs') ? 'jobs' : 'single'}`;
    await psql(db, 'postgres', `CREATE DATABASE ${target}`);
    const r = await db.exec(['pg_restore', '--no-owner', '--no-acl', '--exit-on-error', ...args, '-h', '127.0.0.1', '-U', 'postgres', '-d', target, '/tmp/bench.dump'], { timeoutMs: 3_600_000, user: 'root' });
    lines.push(`reference pg_restore ${name}: ${r.exitCode === 0 ? s(r.durationMs) : `failed: ${r.stderr.trim().split('\n').pop()}`}`);
  }
  const both = await db.exec(['pg_restore', '--single-transaction', '--jobs', '2', '-l', '/tmp/bench.dump'], { timeoutMs: 60_000 });
  lines.push(`pg_restore --single-transaction --jobs 2: ${both.exitCode === 0 ? 'accepted' : `refused: ${both.stderr.trim()}`}`);
} finally {
  await db.stop();
  await net.remove();
}
process.stdout.write(`${lines.join('\n')}\n`);
