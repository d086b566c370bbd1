/**
 * npm run bench:fleet — the same 12 small real z4j archives, in a real
 * SeaweedFS, drilled locally with --jobs 2 and with --on swarm on a three-node
 * Swarm made here (dockerd engines in network namespaces, as the tests make
 * it). The nodes share this machine's cores, so the fleet's wall time says
 * little; the figure to quote is the overhead per drill of dispatch and merge:
 * for each shard, the time its task ran minus the drill's own duration (the
 * worker container, the CLI starting, planning, writing the report, seeing the
 * task end), plus the submitter's fixed costs (images, secrets, service, then
 * removal, reading and merging the reports) spread over the drills. Prints
 * figures; asserts nothing about time.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ensureEngine } from '../harness/runtime/engine.ts';
import { testRuntime } from '../test/helpers/test-runtime.ts';
import { ensureImage, ensureWorkerImage, loadImages } from '../harness/images/index.ts';
import { RunReportSchema } from '../harness/report/schema.ts';
import type { RunReport } from '../harness/report/run-report.ts';
import { makeZ4jDeployment } from '../scenarios/z4j/sample/deployment.ts';
import { z4jImage } from '../scenarios/z4j/image.ts';
import { Z4J_PINNED_VERSION } from '../scenarios/z4j/version.ts';
import { capture, variant } from '../test/helpers/drill.ts';
import { startFleet } from '../test/helpers/fleet-nodes.ts';
import { bridgeIntoHub } from '../test/helpers/hub-bridge.ts';
import { startSeaweed } from '../test/helpers/seaweed.ts';
import '../test/helpers/register-profiles.ts';

const ARCHIVES = 12;
const say = (l: string) => process.stderr.write(`bench: ${l}\n`);
const dir = mkdtempSync(join(tmpdir(), 'restore-drill-bench-fleet-'));
const { docker } = await ensureEngine({ install: true, say });
const fleet = await startFleet({ nodes: 3, say });
const weed = await startSeaweed();
const bridge = await bridgeIntoHub(fleet, Number(new URL(weed.endpoint).port));

try {
  const dep = await makeZ4jDeployment({ runtime: await testRuntime(), version: Z4J_PINNED_VERSION, outDir: join(dir, 'src'), name: 'base.db', say });
  await capture('z4j', dep.archive, dep.secrets);
  await weed.client.send(new CreateBucketCommand({ Bucket: 'bench' }));
  for (let i = 1; i <= ARCHIVES; i++) {
    const a = variant(dep.archive, `fleet-${String(i).padStart(2, '0')}.db`);
    await weed.client.send(new PutObjectCommand({ Bucket: 'bench', Key: `z4j/${basename(a)}`, Body: readFileSync(a) }));
    await weed.client.send(new PutObjectCommand({ Bucket: 'bench', Key: `z4j/${basename(a)}.manifest.json`, Body: readFileSync(`${a}.manifest.json`) }));
  }
  const worker = await ensureWorkerImage(docker, { say });
  const app = await ensureImage(docker, z4jImage(Z4J_PINNED_VERSION), { say });
  const tLoad = performance.now();
  await loadImages(docker, fleet.nodes.map((n) => n.docker), [worker.tag, app.tag, app.base.ref], { say });
  const loadSeconds = (performance.now() - tLoad) / 1000;

  /** The CLI inside the hub namespace (where the store is), each stderr line timestamped. */
  function cli(args: string[], engine: string): Promise<{ code: number | null; seconds: number; lines: Array<{ at: number; text: string }> }> {
    const [cmd, ...rest] = fleet.inHub([process.execPath, 'bin/restore-drill.mjs', ...args]);
    const env = {
      ...process.env, DOCKER_HOST: engine, AWS_ENDPOINT_URL_S3: bridge.url, AWS_ACCESS_KEY_ID: weed.accessKey, AWS_SECRET_ACCESS_KEY: weed.secretKey,
      AWS_CONFIG_FILE: join(dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
    };
    const t0 = performance.now();
    const child = spawn(cmd!, rest, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const lines: Array<{ at: number; text: string }> = [];
    let partial = '';
    child.stderr!.on('data', (d: Buffer) => {
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop()!;
      for (const text of parts) lines.push({ at: (performance.now() - t0) / 1000, text });
    });
    return new Promise((ok) => child.once('exit', (code) => ok({ code, seconds: (performance.now() - t0) / 1000, lines })));
  }
  const common = ['--profile', 'z4j', '--secrets', dep.secrets, '--no-history'];
  const report = (p: string): RunReport => RunReportSchema.parse(JSON.parse(readFileSync(p, 'utf8'))) as RunReport;

  const local = await cli(['run', ...common, '--jobs', '2', '--json', join(dir, 'local.json'), 's3://bench/z4j/'], 'unix:///var/run/docker.sock');
  const localRun = report(join(dir, 'local.json'));
  await weed.client.send(new CreateBucketCommand({ Bucket: 'reports' }));
  const swarm = await cli(
    ['run', '--on', 'swarm', ...common, '--swarm-socket-path', fleet.socketTemplate, '--report-to', 's3://reports/bench/', '--jobs', '3', '--task-cpus', '0.5', '--task-memory', '256m', '--json', join(dir, 'swarm.json'), 's3://bench/z4j/'],
    `unix://${fleet.manager.socket}`,
  );
  const swarmRun = report(join(dir, 'swarm.json'));

  // Per shard (one archive each): the task's time seen running minus the drill's own duration.
  const at = (re: RegExp) => swarm.lines.filter((l) => re.test(l.text));
  const submitted = at(/fleet run \S+: service/)[0]?.at ?? NaN;
  const started = new Map(at(/^restore-drill: shard \d+\/\d+ started/).map((l) => [l.text.match(/shard (\d+)/)![1]!, l.at]));
  const ended = new Map(at(/^restore-drill: shard \d+\/\d+ ended/).map((l) => [l.text.match(/shard (\d+)/)![1]!, l.at]));
  const byShard = new Map<string, number>();
  // The merged report keeps the selection's deal order: the drill at position p is shard (p mod N) + 1.
  swarmRun.drills.forEach((d, p) => byShard.set(String((p % ARCHIVES) + 1), d.durationMs / 1000));
  const perShard = [...ended].map(([s, end]) => end - (started.get(s) ?? end) - (byShard.get(s) ?? 0));
  const lastEnd = Math.max(...ended.values());
  const tail = swarm.seconds - lastEnd;
  const dispatch = perShard.reduce((a, b) => a + b, 0) / perShard.length;
  const overhead = dispatch + (submitted + tail) / ARCHIVES;
  const same = localRun.drills.every((d) => swarmRun.drills.find((s) => s.archive.path === d.archive.path)?.verdict === d.verdict);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

  console.log(`\nfleet bench: ${ARCHIVES} small z4j ${Z4J_PINNED_VERSION} archives from SeaweedFS, ${availableParallelism()} cores shared by everything`);
  console.log(`images onto 3 nodes (worker, z4j, base; once per image version): ${loadSeconds.toFixed(1)} s`);
  console.log(`local, --jobs 2: ${local.seconds.toFixed(1)} s wall (exit ${local.code}); drill median ${median(localRun.drills.map((d) => d.durationMs / 1000)).toFixed(1)} s`);
  console.log(`swarm, 3 nodes, --jobs 3: ${swarm.seconds.toFixed(1)} s wall (exit ${swarm.code}); drill median ${median(swarmRun.drills.map((d) => d.durationMs / 1000)).toFixed(1)} s; nodes used: ${new Set(swarmRun.drills.map((d) => d.node)).size}`);
  console.log(`verdicts equal to the local run's: ${same ? 'yes' : 'NO'}`);
  console.log(`submit (selection, image ids, secrets, service): ${submitted.toFixed(2)} s once`);
  console.log(`dispatch per drill (task running to seen ended, minus the drill): mean ${dispatch.toFixed(2)} s, median ${median(perShard).toFixed(2)} s, max ${Math.max(...perShard).toFixed(2)} s`);
  console.log(`end (service removed, reports read and merged, reporters): ${tail.toFixed(2)} s once`);
  console.log(`overhead per drill, dispatch + merge (fixed costs spread over ${ARCHIVES}): ${overhead.toFixed(2)} s (target: under 2 s)`);
} finally {
  await bridge.close();
  await weed.stop();
  await fleet.teardown();
  rmSync(dir, { recursive: true, force: true });
}
