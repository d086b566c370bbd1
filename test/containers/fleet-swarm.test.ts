import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGED_LABEL } from '../../harness/runtime/index.ts';
import { ensureEngine } from '../../harness/runtime/engine.ts';
import { testRuntime } from '../helpers/test-runtime.ts';
import { RUN_ID_LABEL } from '../../harness/runtime/labels.ts';
import { ensureWorkerImage, loadImages } from '../../harness/images/index.ts';
import { z4jImage } from '../../scenarios/z4j/image.ts';
import { RunReportSchema } from '../../harness/report/schema.ts';
import { makeZ4jDeployment, type Deployment } from '../../scenarios/z4j/sample/deployment.ts';
import { Z4J_PINNED_VERSION } from '../../scenarios/z4j/version.ts';
import { ensureImage } from '../../harness/images/index.ts';
import { makeStandinDeployment, type StandinDeployment } from '../fixtures/hiveloom-standin/deployment.ts';
import { standinRuntimeRecipe, STANDIN_LAUNCHER } from '../fixtures/hiveloom-standin/recipe.ts';
import { capture, drill, variant } from '../helpers/drill.ts';
import { startFleet, type Fleet } from '../helpers/fleet-nodes.ts';
import { bridgeIntoHub, type HubBridge } from '../helpers/hub-bridge.ts';
import { startSeaweed, type Seaweed } from '../helpers/seaweed.ts';
import { own } from '../helpers/leftovers.ts';
import { skipReason } from './engine.ts';

/**
 * run --on swarm on a real three-node Swarm (dockerd engines in network
 * namespaces, test/helpers/fleet-nodes.ts), drilling z4j archives from a real
 * SeaweedFS that the nodes reach at the hub's address. The submitter is the
 * CLI, run inside the hub namespace (where the store is reachable), talking to
 * the manager's engine; workers run the worker image by id on each node with
 * that node's engine socket mounted.
 */
describe.skipIf(skipReason)('drills spread over a Docker Swarm (run --on swarm)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-fleet-swarm-'));
  let fleet: Fleet;
  let weed: Seaweed;
  let bridge: HubBridge;
  let dep: Deployment;
  let hive: StandinDeployment;
  let standinBase: string;
  const expected: Record<string, string> = {};
  const children: ChildProcess[] = [];

  /** The submitter's environment: the manager's engine, the store at the hub's address, keys as a user's environment gives them. */
  const submitterEnv = (): NodeJS.ProcessEnv => ({
    ...process.env,
    DOCKER_HOST: `unix://${fleet.manager.socket}`,
    AWS_ENDPOINT_URL_S3: bridge.url,
    AWS_ACCESS_KEY_ID: weed.accessKey,
    AWS_SECRET_ACCESS_KEY: weed.secretKey,
    AWS_CONFIG_FILE: join(dir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-aws-credentials'),
    AWS_MAX_ATTEMPTS: '2',
    AWS_PROFILE: '',
  });

  /** The CLI inside the hub namespace; resolves with its exit code and output. */
  function submit(args: string[], onLine?: (line: string, child: ChildProcess) => void, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }> {
    const [cmd, ...rest] = fleet.inHub([process.execPath, 'bin/restore-drill.mjs', ...args]);
    const child = own(spawn(cmd!, rest, { env: { ...submitterEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
    children.push(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      for (const line of d.toString().split('\n')) if (line) onLine?.(line, child);
    });
    return new Promise((ok) => child.once('exit', (code, signal) => ok({ code, signal, out, err })));
  }

  const put = (Key: string, Body: Buffer) => weed.client.send(new PutObjectCommand({ Bucket: 'drills', Key, Body }));
  const services = async (runLabel?: string) =>
    (await fleet.manager.docker.listServices({ filters: JSON.stringify({ label: [runLabel ? `${RUN_ID_LABEL}=${runLabel}` : `${MANAGED_LABEL}=true`] }) })) as Array<{ ID: string; Spec?: { Labels?: Record<string, string> } }>;
  const secrets = async () => (await fleet.manager.docker.listSecrets({ filters: JSON.stringify({ label: [`${MANAGED_LABEL}=true`] }) })) as unknown[];

  /** What a run may leave on a live node: containers and networks labelled by restore-drill (the fleet is this test's own). */
  async function leftOn(docker: Docker): Promise<{ containers: string[]; networks: string[] }> {
    const filters = JSON.stringify({ label: [`${MANAGED_LABEL}=true`] });
    return {
      containers: (await docker.listContainers({ all: true, filters })).map((c) => c.Names[0] ?? c.Id),
      networks: (await docker.listNetworks({ filters })).map((n) => n.Name),
    };
  }

  /**
   * The same once the nodes have acted on the run's end: a finished worker's own
   * container is removed just after it exits, by the engine it ran on (bounded wait).
   */
  async function settledOn(docker: Docker): Promise<{ containers: string[]; networks: string[] }> {
    const until = Date.now() + 30_000;
    for (;;) {
      const left = await leftOn(docker);
      if ((left.containers.length === 0 && left.networks.length === 0) || Date.now() > until) return left;
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  beforeAll(async () => {
    fleet = await startFleet({ nodes: 3 });
    weed = await startSeaweed();
    bridge = await bridgeIntoHub(fleet, Number(new URL(weed.endpoint).port));
    await weed.client.send(new CreateBucketCommand({ Bucket: 'drills' }));
    await weed.client.send(new CreateBucketCommand({ Bucket: 'reports' }));

    const { docker } = await ensureEngine();
    const runtime = await testRuntime();
    const made = join(dir, 'made');
    dep = await makeZ4jDeployment({ runtime, version: Z4J_PINNED_VERSION, outDir: made, name: 'base.db' });
    await capture('z4j', dep.archive, dep.secrets);
    // Six archives under one prefix: five good, one whose recorded counts are off (a damaged backup: failed).
    const names: string[] = [];
    for (let i = 1; i <= 5; i++) {
      names.push(basename(variant(dep.archive, `z4j-good-${i}.db`)));
      expected[`z4j-good-${i}.db`] = 'passed';
    }
    names.push(basename(variant(dep.archive, 'z4j-count-off.db', (m) => {
      m.expectations.counts.tasks = (m.expectations.counts.tasks as number) + 1;
    })));
    expected['z4j-count-off.db'] = 'failed';
    for (const n of names) {
      await put(`z4j/${n}`, readFileSync(join(made, n)));
      await put(`z4j/${n}.manifest.json`, readFileSync(join(made, `${n}.manifest.json`)));
      // The same good archives once more under another prefix, for the runs that must not fail.
      if (n.startsWith('z4j-good-') && Number(n.match(/\d/)![0]) <= 4) {
        await put(`good/${n}`, readFileSync(join(made, n)));
        await put(`good/${n}.manifest.json`, readFileSync(join(made, `${n}.manifest.json`)));
      }
    }
    // Two Hiveloom (stand-in) archives, an instance's and a tenant's, beside them.
    hive = await makeStandinDeployment(runtime, join(dir, 'hive'));
    standinBase = (await runtime.image(standinRuntimeRecipe())).tag;
    for (const a of [hive.instanceArchive, hive.tenantArchive]) {
      const { captureCommand } = await import('../../harness/commands/capture.ts');
      await captureCommand({ profile: 'hiveloom', archive: a, appVersion: hive.version, force: true, say: () => {} });
      await put(`hiveloom/${basename(a)}`, readFileSync(a));
      await put(`hiveloom/${basename(a)}.manifest.json`, readFileSync(`${a}.manifest.json`));
    }
    // What the nodes need, made present through each node's engine (no registry): the worker, the drill images and their base.
    const worker = await ensureWorkerImage(docker);
    const app = await ensureImage(docker, z4jImage(Z4J_PINNED_VERSION));
    await loadImages(docker, fleet.nodes.map((n) => n.docker), [worker.tag, app.tag, app.base.ref, hive.imageTag]);
  }, 1_800_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await bridge?.close();
    await weed?.stop();
    await fleet?.teardown();
    rmSync(dir, { recursive: true, force: true });
  }, 300_000);

  it('drills six archives from the store over the nodes: the verdicts a local drill gives, on at least two nodes, one merged report, history and exit code', async () => {
    const json = join(dir, 'six.json');
    const history = join(dir, 'history.sqlite');
    // 1.5 CPUs reserved per task on nodes of 2: the scheduler can place only one task per node at a time, so three run on three nodes.
    const r = await submit([
      'run', '--on', 'swarm', '--profile', 'z4j', '--secrets', dep.secrets, '--swarm-socket-path', fleet.socketTemplate,
      '--report-to', 's3://reports/runs/', '--jobs', '3', '--task-cpus', '1.5', '--task-memory', '256m', '--json', json, '--history', history, 's3://drills/z4j/',
    ]);
    expect(r.err).not.toContain(weed.secretKey);
    const run = RunReportSchema.parse(JSON.parse(readFileSync(json, 'utf8')));
    expect(Object.fromEntries(run.drills.map((d) => [d.archive.file, d.verdict]))).toEqual(expected);
    // The damaged one fails for what is wrong with it, exactly as the same archive drilled locally on this host's engine.
    const off = run.drills.find((d) => d.archive.file === 'z4j-count-off.db')!;
    const locally = await drill('z4j', join(dir, 'made', 'z4j-count-off.db'), { secrets: dep.secrets });
    expect(locally.verdict).toBe('failed');
    const failing = (d: typeof off) => d.checks.filter((c) => c.status !== 'pass').map((c) => `${c.id}: ${c.reason}`);
    expect(failing(off)).toEqual(failing(locally));
    expect(failing(off).some((f) => f.startsWith('compare.count.tasks'))).toBe(true);
    expect(r.code).toBe(1);
    expect(run.status).toBe('failed');
    // One report of the whole run, merged from six shards, each drill naming the Swarm node it ran on.
    expect(run.merged).toMatchObject({ count: 6, lost: [] });
    expect(run.merged!.reported).toHaveLength(6);
    const nodeIds = new Set(fleet.nodes.map((n) => n.nodeId));
    for (const d of run.drills) expect(nodeIds.has(d.node!)).toBe(true);
    expect(new Set(run.drills.map((d) => d.node)).size, r.err.split('\n').filter((l) => /shard|lost|warning/.test(l)).join('\n')).toBeGreaterThanOrEqual(2);
    // The history holds this run's six drills (recorded by the submitter, not the workers).
    const { History } = await import('../../harness/history/store.ts');
    const h = History.open(history);
    try {
      expect(h.drills({ profile: 'z4j' })).toHaveLength(6);
    } finally {
      h.close();
    }
    // Nothing of the run stays: no service, no secret, no labelled container or network on any node.
    expect(await services()).toEqual([]);
    expect(await secrets()).toEqual([]);
    for (const n of fleet.nodes) expect(await settledOn(n.docker)).toEqual({ containers: [], networks: [] });
  });

  it('drills Hiveloom (stand-in) archives the same way: the instance and the tenant archive pass on the nodes, as they do locally', async () => {
    const json = join(dir, 'hive.json');
    // The submitter is given the stand-in as a user gives a Hiveloom binary (and the image it needs to run); the nodes only hold the image.
    const r = await submit(
      ['run', '--on', 'swarm', '--profile', 'hiveloom', '--swarm-socket-path', fleet.socketTemplate, '--report-to', 's3://reports/runs/', '--jobs', '2', '--task-cpus', '0.5', '--task-memory', '256m', '--json', json, '--no-history', 's3://drills/hiveloom/'],
      undefined,
      { RESTORE_DRILL_HIVELOOM_BINARY: STANDIN_LAUNCHER, RESTORE_DRILL_HIVELOOM_BASE: standinBase },
    );
    const run = RunReportSchema.parse(JSON.parse(readFileSync(json, 'utf8')));
    expect(Object.fromEntries(run.drills.map((d) => [d.archive.file, d.verdict])), r.err.slice(-3000)).toEqual({ [basename(hive.instanceArchive)]: 'passed', [basename(hive.tenantArchive)]: 'passed' });
    expect(r.code).toBe(0);
    // The image the submitter made present, by its tag and id: the node had no binary to build one from.
    for (const d of run.drills) expect(d.image?.tag).toBe(hive.imageTag);
    expect(run.drills.every((d) => fleet.nodes.some((n) => n.nodeId === d.node))).toBe(true);
    expect(await services()).toEqual([]);
  });

  it('a submitter killed mid-run leaves its service, which the next sweep on the manager removes with its secrets', async () => {
    let runId: string | undefined;
    const r = await submit(
      ['run', '--on', 'swarm', '--profile', 'z4j', '--secrets', dep.secrets, '--swarm-socket-path', fleet.socketTemplate, '--report-to', 's3://reports/runs/', '--jobs', '2', '--task-cpus', '0.5', '--task-memory', '256m', '--no-history', 's3://drills/good/'],
      (line, child) => {
        const m = /fleet run (\S+): service/.exec(line);
        if (m && !runId) {
          runId = m[1];
          child.kill('SIGKILL');
        }
      },
    );
    expect(r.signal).toBe('SIGKILL');
    expect(runId).toBeDefined();
    expect(await services(runId)).toHaveLength(1);
    expect((await secrets()).length).toBeGreaterThan(0);
    const sweep = await submit(['sweep']);
    expect(sweep.code).toBe(0);
    expect(sweep.out).toMatch(/1 services, [1-9]\d* secrets/);
    expect(await services()).toEqual([]);
    expect(await secrets()).toEqual([]);
  });

  it('a worker node stopped mid-run: its archives error naming the node, exit 3, the other verdicts stand, nothing left on the live nodes', async () => {
    const json = join(dir, 'stopped.json');
    const victim = fleet.nodes[2]!;
    let stopped = false;
    const r = await submit(
      ['run', '--on', 'swarm', '--profile', 'z4j', '--secrets', dep.secrets, '--swarm-socket-path', fleet.socketTemplate, '--report-to', 's3://reports/runs/', '--jobs', '4', '--task-cpus', '1.5', '--task-memory', '256m', '--json', json, '--no-history', 's3://drills/good/'],
      (line) => {
        if (!stopped && line.includes(`started on node ${victim.hostname}`)) {
          stopped = true;
          // The node dies as a machine would, its worker mid-drill.
          void fleet.stop(victim);
        }
      },
    );
    expect(stopped).toBe(true);
    const run = RunReportSchema.parse(JSON.parse(readFileSync(json, 'utf8')));
    expect(r.code).toBe(3);
    const onVictim = run.drills.filter((d) => d.verdict === 'error');
    expect(onVictim.length).toBeGreaterThanOrEqual(1);
    for (const d of onVictim) expect(JSON.stringify(d.checks)).toContain(`node ${victim.hostname}`);
    for (const d of run.drills.filter((x) => x.verdict !== 'error')) expect(d.verdict).toBe('passed');
    expect(run.drills.filter((d) => d.verdict === 'passed').length).toBeGreaterThanOrEqual(1);
    expect(run.merged!.lost.length).toBe(onVictim.length);
    expect(await services()).toEqual([]);
    expect(await secrets()).toEqual([]);
    for (const n of fleet.nodes.filter((x) => x !== victim)) expect(await settledOn(n.docker)).toEqual({ containers: [], networks: [] });
  });
});
