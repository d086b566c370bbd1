/**
 * npm run bench:nightly — six small real z4j archives drilled with --jobs 1 and
 * --jobs 2: the speed-up on this machine's cores, and the fixed cost of one
 * drill container (start and removal, image already built). Prints figures;
 * asserts nothing about time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { newDrillId } from '../harness/runtime/index.ts';
import { dockerRuntime } from '../harness/runtime/docker.ts';
import { ensureEngine } from '../harness/runtime/engine.ts';
import { ensureImage } from '../harness/images/index.ts';
import { runCommand } from '../harness/commands/run.ts';
import { makeZ4jDeployment } from '../scenarios/z4j/sample/deployment.ts';
import { z4jImage } from '../scenarios/z4j/image.ts';
import { Z4J_PINNED_VERSION } from '../scenarios/z4j/version.ts';
import { capture, variant } from '../test/helpers/drill.ts';
import '../test/helpers/register-profiles.ts';
import { testRuntime } from '../test/helpers/test-runtime.ts';

const say = (l: string) => process.stderr.write(`bench: ${l}\n`);
const dir = mkdtempSync(join(tmpdir(), 'restore-drill-bench-nightly-'));
const engine = await ensureEngine({ install: true, say });
const { docker } = engine;
const dep = await makeZ4jDeployment({ runtime: await testRuntime(), version: Z4J_PINNED_VERSION, outDir: join(dir, 'src'), name: 'base.db', say });
await capture('z4j', dep.archive, dep.secrets);
const folder = join(dir, 'backups');
const { mkdirSync, renameSync } = await import('node:fs');
mkdirSync(folder);
for (let i = 1; i <= 6; i++) renameSync(variant(dep.archive, `nightly-${i}.db`), join(folder, `nightly-${i}.db`));
for (let i = 1; i <= 6; i++) renameSync(join(dir, 'src', `nightly-${i}.db.manifest.json`), join(folder, `nightly-${i}.db.manifest.json`));

const image = await ensureImage(docker, z4jImage(Z4J_PINNED_VERSION));
const costs: number[] = [];
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  // A drill's container, on the CLI's runtime: what every drill pays.
  const c = await dockerRuntime(engine).start({ image: image.tag, drillId: newDrillId() });
  await c.stop();
  costs.push(performance.now() - t);
}

async function timed(jobs: number): Promise<{ seconds: number; code: number }> {
  const t = performance.now();
  const code = await runCommand({ profile: 'z4j', archives: [folder], secrets: dep.secrets, jobs, reporters: ['json=' + join(dir, `jobs-${jobs}.json`)], history: false, out: () => {}, say: () => {} });
  return { seconds: (performance.now() - t) / 1000, code };
}
await timed(1); // warm caches (page cache, image layers) so both measured runs start equal
const one = await timed(1);
const two = await timed(2);

console.log(`\nnightly drills: 6 small z4j ${Z4J_PINNED_VERSION} archives, ${availableParallelism()} cores`);
console.log(`--jobs 1: ${one.seconds.toFixed(1)} s (exit ${one.code})`);
console.log(`--jobs 2: ${two.seconds.toFixed(1)} s (exit ${two.code})`);
console.log(`speed-up: ${(one.seconds / two.seconds).toFixed(2)}x (aim: at least 1.6x on 2 cores)`);
console.log(`per drill, end to end: ${(one.seconds / 6).toFixed(1)} s with --jobs 1`);
console.log(`container start + removal, image cached: median ${(costs.sort((a, b) => a - b)[2]! / 1000).toFixed(2)} s of 5 (aim: under 3 s)`);
rmSync(dir, { recursive: true, force: true });
