import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureImage, ensureWorkerImage, expectedImageIds, imageId, loadImages, type BuiltImage } from '../../harness/images/index.ts';
import type { RunReport } from '../../harness/report/index.ts';
import { ensureEngine } from '../../harness/runtime/index.ts';
import { createHiveloomProfile } from '../../scenarios/hiveloom/index.ts';
import { z4jImage } from '../../scenarios/z4j/image.ts';
import { makeZ4jDeployment } from '../../scenarios/z4j/sample/deployment.ts';
import { Z4J_PINNED_VERSION } from '../../scenarios/z4j/version.ts';
import { ensureStandinRuntime, STANDIN_LAUNCHER, STANDIN_VERSION } from '../fixtures/hiveloom-standin/recipe.ts';
import { capture } from '../helpers/drill.ts';
import { startFleet, type Fleet, type FleetNode } from '../helpers/fleet-nodes.ts';
import { skipReason } from './engine.ts';

/** Runs the worker image as a plain container on one node, its engine socket and a folder mounted; returns exit code and output. */
async function runWorker(node: FleetNode, image: string, folder: string, args: string[], env: Record<string, string>): Promise<{ code: number; output: string }> {
  const c = await node.docker.createContainer({
    Image: image,
    Cmd: args,
    Env: Object.entries({ RESTORE_DRILL_NODE: node.hostname, ...env }).map(([k, v]) => `${k}=${v}`),
    HostConfig: { Binds: [`${node.socket}:/var/run/docker.sock`, `${folder}:/drill`], NetworkMode: 'none' },
  });
  try {
    await c.start();
    const { StatusCode } = (await c.wait()) as { StatusCode: number };
    const logs = (await c.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    return { code: StatusCode, output: logs.toString('utf8') };
  } finally {
    await c.remove({ force: true });
  }
}

/** Restore-drill containers the node's engine created since `since` (seconds), by image. */
async function createdOn(docker: Docker, since: number): Promise<string[]> {
  const stream = await docker.getEvents({ since, until: Math.ceil(Date.now() / 1000), filters: JSON.stringify({ type: ['container'], event: ['create'], label: ['io.restore-drill.managed=true'] }) });
  const text = await new Promise<string>((resolve) => {
    let s = '';
    stream.on('data', (d: Buffer) => (s += d.toString()));
    stream.on('end', () => resolve(s));
  });
  return text.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { from: string }).from);
}

describe.skipIf(skipReason)('images on every node of a Swarm, and the worker image drilling there', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-fleet-images-'));
  let host: Docker;
  let fleet: Fleet;
  let worker: BuiltImage;
  let z4j: BuiltImage;
  let hiveloom: BuiltImage;
  let ids: Record<string, string>;
  let archive: string;
  let secrets: string;
  const say = (l: string) => process.stderr.write(`[fleet-images] ${l}\n`);

  beforeAll(async () => {
    host = (await ensureEngine()).docker;
    let t = Date.now();
    worker = await ensureWorkerImage(host, { say });
    say(`worker image ${worker.tag} ${worker.cacheHit ? 'cached' : 'built'} in ${Date.now() - t} ms`);
    z4j = await ensureImage(host, z4jImage(Z4J_PINNED_VERSION));
    const standin = createHiveloomProfile({ binary: () => STANDIN_LAUNCHER, base: (await ensureStandinRuntime(host)).tag });
    hiveloom = await ensureImage(host, standin.image(STANDIN_VERSION));
    ids = await expectedImageIds(host, [z4jImage(Z4J_PINNED_VERSION)]);

    t = Date.now();
    fleet = await startFleet({ nodes: 3, say });
    say(`fleet of 3 formed in ${Date.now() - t} ms (${fleet.nodes[0]!.storageDriver})`);

    const deployment = await makeZ4jDeployment({ docker: host, version: Z4J_PINNED_VERSION, outDir: join(dir, 'in'), name: 'good.db' });
    await capture('z4j', deployment.archive, deployment.secrets);
    archive = deployment.archive;
    secrets = deployment.secrets;
    mkdirSync(join(dir, 'in', 'out'), { recursive: true });
    chmodSync(dir, 0o755);
  });

  afterAll(async () => {
    await fleet?.teardown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads the worker, z4j and Hiveloom stand-in images into every node with the ids they have here; a second load sends nothing', async () => {
    const refs = [worker.tag, z4j.tag, z4j.base.ref, hiveloom.tag];
    const targets = fleet.nodes.map((n) => ({ docker: n.docker, name: n.hostname }));
    const t = Date.now();
    const first = await loadImages(host, targets, refs, { say });
    say(`loaded ${refs.length} images into ${targets.length} nodes in ${Date.now() - t} ms`);
    expect(first.length).toBe(refs.length * 3);
    expect(first.every((l) => l.action === 'loaded')).toBe(true);
    for (const n of fleet.nodes) {
      for (const ref of refs) expect(await imageId(n.docker, ref)).toBe(await imageId(host, ref));
    }
    const t2 = Date.now();
    const again = await loadImages(host, targets, refs);
    say(`second load (all present) in ${Date.now() - t2} ms`);
    expect(again.length).toBe(refs.length * 3);
    expect(again.every((l) => l.action === 'present')).toBe(true);
  });

  it('the worker image run on one node with its socket mounted drills a real z4j archive there: passed', async () => {
    const node = fleet.nodes[1]!;
    const since = Math.floor(Date.now() / 1000) - 1;
    const r = await runWorker(node, worker.tag, join(dir, 'in'), ['run', '/drill/good.db', '--profile', 'z4j', '--secrets', `/drill/${secrets.split('/').pop()}`, '--json', '/drill/out/passed.json', '--no-history'], {
      RESTORE_DRILL_IMAGE_IDS: JSON.stringify(ids),
    });
    expect(r.output).not.toMatch(/building/);
    expect(r.code, r.output).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, 'in', 'out', 'passed.json'), 'utf8')) as RunReport;
    expect(report.drills.map((d) => d.verdict)).toEqual(['passed']);
    expect(report.drills[0]!.image?.tag).toBe(z4j.tag);
    // The drill's container ran on that node's engine, from the image loaded there.
    expect(await createdOn(node.docker, since)).toContain(z4j.tag);
    expect(existsSync(archive)).toBe(true);
  });

  it('a node lacking the image, or holding another under its tag, gives error naming image, node and how to load it; never a build', async () => {
    const node = fleet.nodes[2]!;
    const drillOn = async (name: string) => {
      const r = await runWorker(node, worker.tag, join(dir, 'in'), ['run', '/drill/good.db', '--profile', 'z4j', '--secrets', `/drill/${secrets.split('/').pop()}`, '--json', `/drill/out/${name}.json`, '--no-history'], {
        RESTORE_DRILL_IMAGE_IDS: JSON.stringify(ids),
      });
      expect(r.code, r.output).toBe(3);
      const report = JSON.parse(readFileSync(join(dir, 'in', 'out', `${name}.json`), 'utf8')) as RunReport;
      expect(report.drills.map((d) => d.verdict)).toEqual(['error']);
      return report.drills[0]!.summary;
    };
    const tag = z4j.tag.split(':');
    await node.docker.getImage(z4j.tag).remove();
    expect(await imageId(node.docker, z4j.tag)).toBeUndefined();
    const missing = await drillOn('missing');
    expect(missing).toContain(`the image ${z4j.tag} is not present on node ${node.hostname}`);
    expect(missing).toContain(`restore-drill images load ${z4j.tag} --to ENGINE`);
    // Nothing was built on the node meanwhile.
    expect(await imageId(node.docker, z4j.tag)).toBeUndefined();

    // Another image under the same tag (here the base): refused by its id, not trusted by its name.
    await node.docker.getImage(z4j.base.ref).tag({ repo: tag[0]!, tag: tag[1]! });
    const other = await drillOn('other');
    expect(other).toContain(`the image ${z4j.tag} on node ${node.hostname} is ${z4j.base.id}, not ${z4j.id} as the submitter expects`);

    // The remedy the message names, through the CLI: the node gets the image back with its id.
    const cli = spawnSync(process.execPath, ['bin/restore-drill.mjs', 'images', 'load', z4j.tag, '--to', `unix://${node.socket}`], { encoding: 'utf8' });
    expect(cli.status, cli.stderr).toBe(0);
    expect(cli.stdout.trim().split('\n')).toEqual([`loaded\t${z4j.tag}\tunix://${node.socket}\t${z4j.id.slice(7, 19)}`]);
    expect(await imageId(node.docker, z4j.tag)).toBe(z4j.id);
  });

  it('--registry: the source pushes once to a registry the user runs, each node pulls by digest and gets the same id', async () => {
    // Debian's docker-registry in the hub namespace: every node reaches it at the hub's address.
    const regDir = join(fleet.dir, 'registry');
    mkdirSync(regDir);
    const config = join(regDir, 'config.yml');
    writeFileSync(config, `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${regDir}/data\nhttp:\n  addr: ${fleet.hubAddress}:5000\n`);
    const [cmd, ...args] = fleet.inHub(['docker-registry', 'serve', config]);
    const registry = spawn(cmd!, args, { stdio: 'ignore' });
    try {
      const url = `http://${fleet.hubAddress}:5000/v2/`;
      for (let i = 0; ; i++) {
        try {
          fleet.exec(['curl', '-sf', url]);
          break;
        } catch (e) {
          if (i > 100) throw e;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      // The stand-in image leaves nodes 1 and 2; node 0 (the source here: it reaches the registry) still has it.
      for (const n of fleet.nodes.slice(1)) await n.docker.getImage(hiveloom.tag).remove();
      const [source, ...targets] = fleet.nodes;
      const loaded = await loadImages(source!.docker, targets.map((n) => ({ docker: n.docker, name: n.hostname })), [hiveloom.tag], { registry: `${fleet.hubAddress}:5000`, say });
      expect(loaded.map((l) => [l.target, l.action])).toEqual(targets.map((n) => [n.hostname, 'pulled']));
      for (const n of targets) {
        expect(await imageId(n.docker, hiveloom.tag)).toBe(hiveloom.id);
        const digests = (await n.docker.getImage(hiveloom.tag).inspect()).RepoDigests ?? [];
        expect(digests.some((d) => d.startsWith(`${fleet.hubAddress}:5000/restore-drill/hiveloom@sha256:`))).toBe(true);
      }
    } finally {
      registry.kill('SIGTERM');
    }
  });
});
