/**
 * npm run bench:drill — restore-drill against the bare manual drill
 * (bench/manual-z4j-drill.sh: the same image, docker commands only) on the
 * same archive, alternating, for the demo-sized archive and for a large one.
 * Prints medians of wall time and of machine CPU time (all cores, from
 * /proc/stat: the engine and the containers included) and the ratios.
 * Asserts nothing about time.
 *
 * BENCH_RUNS (default 5) rounds per size; BENCH_SIZES (default "demo,large");
 * BENCH_LARGE_ROWS (default 1000000) audit rows in the large archive, written
 * by z4j's own audit service (seed.py, bulk mode: this takes many minutes).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureEngine } from '../harness/runtime/engine.ts';
import { ensureImage } from '../harness/images/index.ts';
import { makeZ4jDeployment } from '../scenarios/z4j/sample/deployment.ts';
import { z4jImage } from '../scenarios/z4j/image.ts';
import { Z4J_PINNED_VERSION } from '../scenarios/z4j/version.ts';
import { capture } from '../test/helpers/drill.ts';
import '../test/helpers/register-profiles.ts';
import { testRuntime } from '../test/helpers/test-runtime.ts';

const say = (l: string) => process.stderr.write(`bench: ${l}\n`);
const runs = Number(process.env.BENCH_RUNS ?? 5);
const sizes = (process.env.BENCH_SIZES ?? 'demo,large').split(',').map((s) => s.trim());
const largeRows = Number(process.env.BENCH_LARGE_ROWS ?? 1_000_000);
const root = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'restore-drill-bench-drill-'));
const { docker } = await ensureEngine({ install: true, say });
const image = await ensureImage(docker, z4jImage(Z4J_PINNED_VERSION), { say });

/** Busy CPU seconds of the whole machine so far (user+nice+system+irq+softirq+steal). */
function machineCpu(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const busy = f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!;
  return busy / 100; // USER_HZ
}

/**
 * One run: wall and machine CPU, and the wall time of z4j's own commands in it
 * (the manual script prints "app-ms N" per command; restore-drill's exec debug
 * lines say "exit C in N ms" after each command's line), so what each procedure
 * adds around the same z4j commands can be told apart from z4j's own spread.
 */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): { wall: number; cpu: number; app: number } {
  const c0 = machineCpu();
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env: { ...process.env, CI: 'true', ...env } });
  const wall = (performance.now() - t0) / 1000;
  const cpu = machineCpu() - c0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-1500)}`);
  let app = 0;
  let lastWasZ4j = false;
  for (const l of r.stderr.split('\n')) {
    const manual = /^app-ms (\d+)$/.exec(l);
    if (manual) app += Number(manual[1]);
    if (/restore-drill:exec \S+: \[ 'z4j'/.test(l)) lastWasZ4j = true;
    else if (/restore-drill:exec \S+: \[/.test(l)) lastWasZ4j = false;
    const tool = /restore-drill:exec \S+: exit -?\d+ in (\d+) ms/.exec(l);
    if (tool && lastWasZ4j) app += Number(tool[1]);
  }
  if (app === 0) throw new Error(`${cmd}: no z4j command timings in its output`);
  return { wall, cpu, app: app / 1000 };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const results: string[] = [];
for (const size of sizes) {
  const rows = size === 'large' ? largeRows : 300;
  say(`making the ${size} archive (${rows} audit rows, z4j ${Z4J_PINNED_VERSION})`);
  const dep = await makeZ4jDeployment({ runtime: await testRuntime(), version: Z4J_PINNED_VERSION, outDir: join(dir, size), name: `${size}.db`, auditRows: rows, say });
  await capture('z4j', dep.archive, dep.secrets);
  const manual = { wall: [] as number[], cpu: [] as number[], app: [] as number[], rest: [] as number[] };
  const tool = { wall: [] as number[], cpu: [] as number[], app: [] as number[], rest: [] as number[] };
  const report = join(dir, size, 'report.json');
  const drillArgs = ['bin/restore-drill.mjs', 'run', '--profile', 'z4j', '--secrets', dep.secrets, '--no-history', '--json', report, dep.archive];
  for (let i = 0; i < runs; i++) {
    // Alternate which goes first, so neither always meets a warmer cache.
    const order = i % 2 === 0 ? (['manual', 'tool'] as const) : (['tool', 'manual'] as const);
    for (const who of order) {
      const m = who === 'manual' ? timed('bash', ['bench/manual-z4j-drill.sh', image.tag, dep.archive, dep.secrets]) : timed(process.execPath, drillArgs, { DEBUG: 'restore-drill:exec' });
      const into = who === 'manual' ? manual : tool;
      into.wall.push(m.wall);
      into.cpu.push(m.cpu);
      into.app.push(m.app);
      into.rest.push(m.wall - m.app);
      say(`${size} round ${i + 1}: ${who} ${m.wall.toFixed(2)} s wall, ${m.cpu.toFixed(2)} CPU-s, z4j's commands ${m.app.toFixed(2)} s of the wall`);
    }
  }
  const mb = (statSync(dep.archive).size / 2 ** 20).toFixed(1);
  // Round i's two runs ran back to back: their ratio sees the same machine, so its median says less about the noise between rounds.
  const line = (what: string, a: number[], b: number[]) =>
    `  ${what}: restore-drill ${median(b).toFixed(2)} s, manual ${median(a).toFixed(2)} s, ratio ${(median(b) / median(a)).toFixed(3)}x (target at most 1.05x); ratio within rounds: median ${median(b.map((x, i) => x / a[i]!)).toFixed(3)}x, range ${Math.min(...b.map((x, i) => x / a[i]!)).toFixed(3)}-${Math.max(...b.map((x, i) => x / a[i]!)).toFixed(3)}x`;
  results.push(
    `${size} archive: ${rows} audit rows, ${mb} MiB, ${runs} alternating rounds, medians`,
    line('wall', manual.wall, tool.wall),
    line('machine CPU', manual.cpu, tool.cpu),
    `  wall outside z4j's own commands: restore-drill ${median(tool.rest).toFixed(2)} s, manual ${median(manual.rest).toFixed(2)} s (what each adds around the same commands)`,
    // The same z4j commands on the same image cost the same in both: their pooled median, plus what each procedure adds, gives the wall ratio without z4j's spread between runs.
    `  z4j's commands: restore-drill ${median(tool.app).toFixed(2)} s, manual ${median(manual.app).toFixed(2)} s; pooled ${median([...tool.app, ...manual.app]).toFixed(2)} s, so wall ratio ${((median([...tool.app, ...manual.app]) + median(tool.rest)) / (median([...tool.app, ...manual.app]) + median(manual.rest))).toFixed(3)}x`,
  );
}
console.log(`\ndrill against the bare manual procedure (z4j ${Z4J_PINNED_VERSION}, image ${image.tag})`);
for (const l of results) console.log(l);
rmSync(dir, { recursive: true, force: true });
