import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetLeftovers, startFleet, sweepDeadFleets, type Fleet } from '../helpers/fleet-nodes.ts';
import { engine, skipReason } from './engine.ts';

/** The host engine's swarm state and the host's addresses: what the fleet must leave as they were. */
async function hostState(): Promise<{ swarm: string; fleetAddresses: string[] }> {
  const { docker } = await engine();
  const info = (await docker.info()) as { Swarm: { LocalNodeState: string } };
  const fleetAddresses = Object.values(networkInterfaces()).flat().filter((a) => a?.address.startsWith('10.231.0.')).map((a) => a!.address);
  return { swarm: info.Swarm.LocalNodeState, fleetAddresses };
}

/** Starts the fleet child (test/helpers/fleet-child.ts) and resolves once its fleet is formed. */
function fleetChild(): Promise<{ pid: number; kill: (s: NodeJS.Signals) => Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/fleet-child.ts'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('fleet-ready')) resolve({ pid: child.pid!, kill: async (s) => (child.kill(s), exited) });
    });
    void exited.then((code) => reject(new Error(`fleet child exited (${code}) before its fleet was ready`)));
  });
}

describe.skipIf(skipReason)('a Swarm of three engines in network namespaces (test/helpers/fleet-nodes.ts)', () => {
  let fleet: Fleet;
  let before: Awaited<ReturnType<typeof hostState>>;
  let formedMs = 0;

  beforeAll(async () => {
    before = await hostState();
    const t = Date.now();
    fleet = await startFleet({ nodes: 3, say: (l) => process.stderr.write(`[fleet] ${l}\n`) });
    formedMs = Date.now() - t;
    process.stderr.write(`[fleet] formed in ${formedMs} ms (${fleet.nodes[0]!.storageDriver})\n`);
  });
  afterAll(async () => {
    await fleet?.teardown();
  });

  it('lists three Ready nodes, one manager and two workers, each its own engine and host name', async () => {
    const list = (await fleet.manager.docker.listNodes()) as Array<{ ID: string; Spec: { Role: string }; Status: { State: string; Addr: string }; Description: { Hostname: string } }>;
    expect(list.map((n) => n.ID).sort()).toEqual(fleet.nodes.map((n) => n.nodeId).sort());
    expect(list.every((n) => n.Status.State === 'ready')).toBe(true);
    expect(list.filter((n) => n.Spec.Role === 'manager').map((n) => n.ID)).toEqual([fleet.manager.nodeId]);
    expect(new Set(list.map((n) => n.Description.Hostname)).size).toBe(3);
    expect(list.map((n) => n.Status.Addr).sort()).toEqual(fleet.nodes.map((n) => n.address).sort());
    // Each node's socket answers as that node (its own Swarm node id).
    for (const n of fleet.nodes) {
      const info = (await n.docker.info()) as { Swarm: { NodeID: string; LocalNodeState: string } };
      expect(info.Swarm).toMatchObject({ NodeID: n.nodeId, LocalNodeState: 'active' });
    }
    // The per-node socket paths a service mount names through {{.Node.ID}}.
    expect(readdirSync(fleet.socketsDir).sort()).toEqual(fleet.nodes.map((n) => `${n.nodeId}.sock`).sort());
    expect(fleet.socketTemplate).toBe(`${fleet.socketsDir}/{{.Node.ID}}.sock`);
  });

  it('reaches every node from the hub and leaves the host engine and addresses as they were', async () => {
    for (const n of fleet.nodes) expect(fleet.exec(['cat', '/proc/net/arp']) + fleet.exec(['ip', 'route', 'get', n.address])).toContain(n.address);
    expect(await hostState()).toEqual(before);
  });

  it('a stopped node goes Down on the manager', async () => {
    const victim = fleet.nodes[2]!;
    await fleet.stop(victim);
    const until = Date.now() + 60_000;
    let state = '';
    while (Date.now() < until) {
      const n = (await fleet.manager.docker.getNode(victim.nodeId).inspect()) as { Status: { State: string } };
      state = n.Status.State;
      if (state === 'down') break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(state).toBe('down');
    await expect(victim.docker.ping()).rejects.toThrow();
  });

  it('teardown removes every engine, namespace, mount, cgroup and folder it made', async () => {
    const pid = fleet.pid;
    await fleet.teardown();
    expect(fleetLeftovers(pid)).toEqual({ netns: [], dir: false, mounts: [], cgroups: [] });
    for (const n of fleet.nodes) await expect(n.docker.ping()).rejects.toThrow();
    expect(await hostState()).toEqual(before);
  });

  it('an interrupted test still removes its fleet (SIGTERM), and a killed one is swept by the next (SIGKILL)', async () => {
    const termed = await fleetChild();
    expect(fleetLeftovers(termed.pid).netns.length).toBe(2);
    expect(await termed.kill('SIGTERM')).toBe(143);
    expect(fleetLeftovers(termed.pid)).toEqual({ netns: [], dir: false, mounts: [], cgroups: [] });

    const killed = await fleetChild();
    await killed.kill('SIGKILL');
    expect(fleetLeftovers(killed.pid).netns.length).toBe(2);
    expect(sweepDeadFleets()).toContain(killed.pid);
    expect(fleetLeftovers(killed.pid)).toEqual({ netns: [], dir: false, mounts: [], cgroups: [] });
  });
});
