import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';

/**
 * A real multi-node Docker Swarm on one machine, made by a test: one `dockerd`
 * per node, each in its own network namespace, joined over veth pairs through a
 * bridge in a hub namespace. Addresses exist only inside those namespaces (and
 * each namespace's loopback); the host's own engine and network are untouched.
 *
 * Every name carries the test process's pid (namespaces `rdf<pid>-hub`,
 * `rdf<pid>-n<i>`, folder `<tmp>/rd-fleet-<pid>`, cgroup parent `rdf<pid>-n<i>`),
 * so parallel runs never collide, and a fleet whose process died (SIGKILL, a
 * crashed worker) is recognised and removed by the next `startFleet`.
 *
 * Why only the network namespace is entered (nsenter --net), never `ip netns
 * exec`: the latter also makes a mount namespace with its own /sys, where
 * dockerd stops with "Devices cgroup isn't mounted". A UTS namespace is added
 * so each node reports its own host name in `node ls` and in reports.
 */

export interface FleetNode {
  /** 0 is the manager; the others are workers. */
  index: number;
  /** The node's network namespace (under /var/run/netns). */
  netns: string;
  /** The node's address on the fleet's private network (inside the namespaces only). */
  address: string;
  /** The host name the node's engine reports (its UTS namespace). */
  hostname: string;
  /** The node engine's unix socket (on the host's file system: every process here can open it). */
  socket: string;
  /** A dockerode client for the node's engine. */
  docker: Docker;
  /** The Swarm node id (`docker node ls`). */
  nodeId: string;
  /** The node's storage driver (overlay2 where the kernel allows it, else vfs). */
  storageDriver: string;
}

export interface Fleet {
  /** The test process's pid, in every name the fleet made. */
  pid: number;
  /** The fleet's folder: data and exec roots, sockets, logs. */
  dir: string;
  /** The hub namespace holding the bridge every node hangs on. */
  hubNetns: string;
  /** The hub's own address on the bridge. */
  hubAddress: string;
  nodes: FleetNode[];
  manager: FleetNode;
  /**
   * A folder holding `<SwarmNodeID>.sock`, a symlink to that node's engine socket, for
   * every node: a service bind mount names `socketTemplate` (`<dir>/{{.Node.ID}}.sock`)
   * and each task gets its own node's engine.
   */
  socketsDir: string;
  socketTemplate: string;
  /** Kills a node hard (engine, containerd, its containers): the node dies as a machine would. */
  stop(node: number | FleetNode): Promise<void>;
  /** Runs a command inside the hub namespace (reaches every node's address); returns stdout. */
  exec(cmd: string[]): string;
  /**
   * The argv that runs `cmd` inside the hub namespace, for spawning long-lived
   * processes there: a server every node reaches at `hubAddress` (e.g. SeaweedFS),
   * or a submitter that must reach what the nodes reach. Unix sockets (the node
   * engines') work from any namespace; only TCP addresses are per namespace.
   */
  inHub(cmd: string[]): string[];
  /** Removes every engine, container, namespace, veth, mount, cgroup and folder the fleet made. Idempotent. */
  teardown(): Promise<void>;
}

export interface FleetOptions {
  /** Number of nodes (manager + workers); at least 1. */
  nodes?: number;
  /** Storage driver; default: overlay2, falling back to vfs when overlay2 does not start. */
  storageDriver?: 'overlay2' | 'vfs';
  /** Where the fleet's folder goes (default: os.tmpdir()). */
  tmp?: string;
  /** Progress lines. */
  say?: (line: string) => void;
}

const PREFIX = 'rdf';
const SUBNET = '10.231.0';
const HUB_IP = `${SUBNET}.1`;
const nodeIp = (i: number) => `${SUBNET}.${10 + i}`;
const NETNS_DIR = '/var/run/netns';

function run(cmd: string, args: string[], opts: { quiet?: boolean } = {}): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', opts.quiet ? 'ignore' : 'pipe'] });
}

function tryRun(cmd: string, args: string[]): boolean {
  try {
    run(cmd, args, { quiet: true });
    return true;
  } catch {
    return false;
  }
}

/** Sleeps without returning to the event loop: teardown also runs from an `exit` handler. */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // An engine this process spawned stays a zombie until the event loop reaps it,
  // which a synchronous teardown never lets happen: a zombie has ended.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function netnsName(pid: number, part: string): string {
  return `${PREFIX}${pid}-${part}`;
}

function fleetDir(tmp: string, pid: number): string {
  return join(tmp, `rd-fleet-${pid}`);
}

/** Processes whose network namespace is `netns` (the engine, containerd, shims, host-network containers). */
function netnsPids(netns: string): number[] {
  try {
    return run('ip', ['netns', 'pids', netns], { quiet: true }).split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Cgroup v1 hierarchies and the v2 unified one, where a node's containers live under its cgroup parent. */
function cgroupRoots(): string[] {
  const base = '/sys/fs/cgroup';
  if (existsSync(join(base, 'cgroup.controllers'))) return [base];
  try {
    return readdirSync(base).map((d) => join(base, d)).filter((d) => existsSync(join(d, 'cgroup.procs')));
  } catch {
    return [];
  }
}

function cgroupDirs(parent: string): string[] {
  return cgroupRoots().map((r) => join(r, parent)).filter((d) => existsSync(d));
}

/** Every process in a cgroup subtree (containers with their own network namespace are found here, not by netns). */
function cgroupPids(dir: string): number[] {
  const pids: number[] = [];
  const walk = (d: string) => {
    try {
      for (const l of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n')) if (l) pids.push(Number(l));
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
    } catch {
      /* gone meanwhile */
    }
  };
  walk(dir);
  return pids;
}

function removeCgroupTree(dir: string): void {
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeCgroupTree(join(dir, e.name));
    rmSync(dir, { recursive: false, force: true });
  } catch {
    try {
      execFileSync('rmdir', [dir], { stdio: 'ignore' });
    } catch {
      /* busy or gone: reported by the leftovers check */
    }
  }
}

function killAll(pids: number[], signal: NodeJS.Signals): void {
  for (const p of pids) {
    try {
      process.kill(p, signal);
    } catch {
      /* already gone */
    }
  }
}

/** Mount points at or below `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  const text = readFileSync('/proc/self/mounts', 'utf8');
  const points = text.split('\n').map((l) => l.split(' ')[1]).filter((p): p is string => !!p).map((p) => p.replace(/\\040/g, ' '));
  return points.filter((p) => p === dir || p.startsWith(`${dir}/`)).sort((a, b) => b.length - a.length);
}

interface NodeState {
  index: number;
  netns: string;
  dir: string;
  cgroupParent: string;
  child?: ChildProcess;
}

function enginePid(n: NodeState): number | undefined {
  const pidFile = join(n.dir, 'dockerd.pid');
  try {
    return Number(readFileSync(pidFile, 'utf8').trim()) || n.child?.pid;
  } catch {
    return n.child?.pid;
  }
}

/**
 * Stops nodes for good: their engines first, all at once (SIGTERM, so each stops
 * its containers; `graceMs` bounds the wait for all of them together), then
 * whatever still runs in their namespaces or cgroups, hard.
 */
function killNodesSync(nodes: NodeState[], graceMs: number): void {
  const engines = nodes.map(enginePid).filter((p): p is number => !!p && alive(p));
  if (graceMs > 0 && engines.length) {
    killAll(engines, 'SIGTERM');
    const until = Date.now() + graceMs;
    while (engines.some(alive) && Date.now() < until) sleepSync(100);
  }
  for (let round = 0; round < 30; round++) {
    const pids = [...engines.filter(alive), ...nodes.flatMap((n) => [...netnsPids(n.netns), ...cgroupDirs(n.cgroupParent).flatMap(cgroupPids)])];
    if (pids.length === 0) break;
    killAll(pids, 'SIGKILL');
    sleepSync(100);
  }
}

function removeNodesSync(nodes: NodeState[]): void {
  killNodesSync(nodes, 10_000);
  for (const n of nodes) {
    for (const d of cgroupDirs(n.cgroupParent)) removeCgroupTree(d);
    tryRun('ip', ['netns', 'del', n.netns]);
  }
}

/** Removes a whole fleet by its pid: nodes, hub, mounts, folder. Synchronous (runs from exit handlers too). */
function removeFleetSync(pid: number, tmp: string): void {
  const dir = fleetDir(tmp, pid);
  const names = existsSync(NETNS_DIR) ? readdirSync(NETNS_DIR).filter((n) => n.startsWith(`${PREFIX}${pid}-`)) : [];
  const nodeNames = names.filter((n) => /-n\d+$/.test(n));
  removeNodesSync(
    nodeNames.map((netns) => {
      const index = Number(netns.slice(netns.lastIndexOf('-n') + 2));
      return { index, netns, dir: join(dir, `n${index}`), cgroupParent: netns };
    }),
  );
  // Cgroups of nodes whose namespace was already gone.
  for (const root of cgroupRoots()) {
    try {
      for (const d of readdirSync(root)) if (d.startsWith(`${PREFIX}${pid}-`)) removeCgroupTree(join(root, d));
    } catch {
      /* unreadable root */
    }
  }
  for (const m of mountsUnder(dir)) tryRun('umount', ['-l', m]);
  rmSync(dir, { recursive: true, force: true });
  // The hub last: what a test ran there (a server every node reaches) ends with it, and
  // deleting it drops the bridge and every veth end it holds.
  for (const n of names.filter((x) => !nodeNames.includes(x))) {
    for (let round = 0; round < 20 && netnsPids(n).length; round++) {
      killAll(netnsPids(n), round === 0 ? 'SIGTERM' : 'SIGKILL');
      sleepSync(100);
    }
    tryRun('ip', ['netns', 'del', n]);
  }
}

/** Fleets left by processes that no longer exist (killed tests): removed before a new one is made. */
export function sweepDeadFleets(tmp = tmpdir()): number[] {
  const pids = new Set<number>();
  if (existsSync(NETNS_DIR)) for (const n of readdirSync(NETNS_DIR)) {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(n);
    if (m) pids.add(Number(m[1]));
  }
  for (const f of readdirSync(tmp)) {
    const m = /^rd-fleet-(\d+)$/.exec(f);
    if (m) pids.add(Number(m[1]));
  }
  const removed = [...pids].filter((p) => p !== process.pid && !alive(p));
  for (const p of removed) removeFleetSync(p, tmp);
  return removed;
}

/** What a fleet of this process left behind (expected empty after teardown). */
export function fleetLeftovers(pid = process.pid, tmp = tmpdir()): { netns: string[]; dir: boolean; mounts: string[]; cgroups: string[] } {
  const dir = fleetDir(tmp, pid);
  return {
    netns: existsSync(NETNS_DIR) ? readdirSync(NETNS_DIR).filter((n) => n.startsWith(`${PREFIX}${pid}-`)) : [],
    dir: existsSync(dir),
    mounts: mountsUnder(dir),
    cgroups: cgroupRoots().flatMap((r) => {
      try {
        return readdirSync(r).filter((d) => d.startsWith(`${PREFIX}${pid}-`)).map((d) => join(r, d));
      } catch {
        return [];
      }
    }),
  };
}

async function waitForEngine(docker: Docker, child: ChildProcess, log: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  let exited = false;
  child.once('exit', () => (exited = true));
  for (;;) {
    try {
      await docker.ping();
      return;
    } catch {
      /* not up yet */
    }
    if (exited || Date.now() > until) {
      const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-15).join('\n') : '';
      throw new Error(`fleet node engine did not answer (${exited ? 'it exited' : 'timeout'}):\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function startEngine(n: NodeState, hostname: string, socket: string, storageDriver: string): ChildProcess {
  mkdirSync(n.dir, { recursive: true });
  const log = join(n.dir, 'dockerd.log');
  const fd = openSync(log, 'a');
  // unshare --uts: the node's own host name; nsenter --net: its own network, nothing else.
  const script = 'hostname "$1" && shift && exec "$@"';
  const child = spawn(
    'unshare',
    [
      '--uts', '--', 'sh', '-c', script, 'sh', hostname,
      'nsenter', `--net=${join(NETNS_DIR, n.netns)}`, '--',
      'dockerd',
      '--data-root', join(n.dir, 'data'),
      '--exec-root', join(n.dir, 'exec'),
      '--pidfile', join(n.dir, 'dockerd.pid'),
      '-H', `unix://${socket}`,
      '--iptables=false', '--ip-masq=false', '--bridge=none',
      `--storage-driver=${storageDriver}`,
      `--cgroup-parent=/${n.cgroupParent}`,
      '--userland-proxy=false',
      // A registry a test runs in the hub (plain HTTP on the fleet's private network) is usable.
      `--insecure-registry=${SUBNET}.0/24`,
      // No config from the host's /etc/docker/daemon.json (it may name a socket, a data root).
      '--config-file', writeEmptyConfig(n.dir),
    ],
    { stdio: ['ignore', fd, fd], detached: true },
  );
  closeSync(fd);
  child.unref();
  n.child = child;
  return child;
}

function writeEmptyConfig(dir: string): string {
  const f = join(dir, 'daemon.json');
  writeFileSync(f, '{}\n');
  return f;
}

const liveFleets = new Map<number, () => void>();
let handlersInstalled = false;

/** Interrupted or crashing tests still remove their fleets: exit and signal handlers tear down synchronously. */
function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const all = () => {
    for (const [, td] of liveFleets) td();
    liveFleets.clear();
  };
  process.on('exit', all);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      all();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

/** Forms a Swarm of `nodes` engines: node 0 runs `swarm init`, the others join as workers. */
export async function startFleet(opts: FleetOptions = {}): Promise<Fleet> {
  const count = opts.nodes ?? 3;
  if (count < 1) throw new Error('a fleet needs at least one node');
  const say = opts.say ?? (() => {});
  const tmp = opts.tmp ?? tmpdir();
  const pid = process.pid;
  const swept = sweepDeadFleets(tmp);
  if (swept.length) say(`removed fleets left by dead processes ${swept.join(', ')}`);
  if (liveFleets.has(pid) || existsSync(fleetDir(tmp, pid))) throw new Error('this process already has a fleet: tear it down first');

  const dir = fleetDir(tmp, pid);
  const hub = netnsName(pid, 'hub');
  const states: NodeState[] = Array.from({ length: count }, (_, i) => ({ index: i, netns: netnsName(pid, `n${i}`), dir: join(dir, `n${i}`), cgroupParent: netnsName(pid, `n${i}`) }));
  let tornDown = false;
  const teardownSync = () => {
    if (tornDown) return;
    tornDown = true;
    removeFleetSync(pid, tmp);
  };
  liveFleets.set(pid, teardownSync);
  installHandlers();

  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const socketsDir = join(dir, 'sockets');
    mkdirSync(socketsDir);
    // The hub: a bridge every node's veth hangs on.
    run('ip', ['netns', 'add', hub]);
    run('ip', ['-n', hub, 'link', 'set', 'lo', 'up']);
    run('ip', ['-n', hub, 'link', 'add', 'br0', 'type', 'bridge']);
    run('ip', ['-n', hub, 'addr', 'add', `${HUB_IP}/24`, 'dev', 'br0']);
    run('ip', ['-n', hub, 'link', 'set', 'br0', 'up']);
    for (const n of states) {
      run('ip', ['netns', 'add', n.netns]);
      // Both veth ends are made inside the namespaces: no interface ever appears on the host.
      run('ip', ['-n', hub, 'link', 'add', `v${n.index}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n.netns]);
      run('ip', ['-n', hub, 'link', 'set', `v${n.index}`, 'master', 'br0', 'up']);
      run('ip', ['-n', n.netns, 'addr', 'add', `${nodeIp(n.index)}/24`, 'dev', 'eth0']);
      run('ip', ['-n', n.netns, 'link', 'set', 'eth0', 'up']);
      run('ip', ['-n', n.netns, 'link', 'set', 'lo', 'up']);
      run('ip', ['-n', n.netns, 'route', 'add', 'default', 'via', HUB_IP]);
    }

    let driver: string = opts.storageDriver ?? 'overlay2';
    const started = async (n: NodeState): Promise<{ docker: Docker; socket: string; hostname: string }> => {
      const socket = join(n.dir, 'docker.sock');
      const hostname = netnsName(pid, `n${n.index}`);
      const docker = new Docker({ socketPath: socket });
      const child = startEngine(n, hostname, socket, driver);
      await waitForEngine(docker, child, join(n.dir, 'dockerd.log'), 60_000);
      return { docker, socket, hostname };
    };
    // The first node tells whether overlay2 works here; the others use what it used.
    let first: { docker: Docker; socket: string; hostname: string };
    try {
      first = await started(states[0]!);
    } catch (e) {
      if (opts.storageDriver || driver !== 'overlay2') throw e;
      say(`overlay2 did not start on a fleet node; using vfs (every layer a full copy): ${(e as Error).message.split('\n')[0]}`);
      killNodesSync([states[0]!], 5_000);
      for (const m of mountsUnder(states[0]!.dir)) tryRun('umount', ['-l', m]);
      rmSync(states[0]!.dir, { recursive: true, force: true });
      driver = 'vfs';
      first = await started(states[0]!);
    }
    const engines = [first, ...(await Promise.all(states.slice(1).map(started)))];
    say(`${count} engines up (${driver})`);

    const manager = engines[0]!.docker;
    await manager.swarmInit({ ListenAddr: `${nodeIp(0)}:2377`, AdvertiseAddr: nodeIp(0), ForceNewCluster: false });
    const swarm = (await manager.swarmInspect()) as { JoinTokens: { Worker: string } };
    await Promise.all(
      engines.slice(1).map((e, k) =>
        e.docker.swarmJoin({ ListenAddr: `${nodeIp(k + 1)}:2377`, AdvertiseAddr: nodeIp(k + 1), RemoteAddrs: [`${nodeIp(0)}:2377`], JoinToken: swarm.JoinTokens.Worker }),
      ),
    );

    const nodes: FleetNode[] = [];
    for (const [i, e] of engines.entries()) {
      const info = (await e.docker.info()) as { Swarm: { NodeID: string }; Driver: string };
      const nodeId = info.Swarm.NodeID;
      symlinkSync(e.socket, join(socketsDir, `${nodeId}.sock`));
      nodes.push({ index: i, netns: states[i]!.netns, address: nodeIp(i), hostname: e.hostname, socket: e.socket, docker: e.docker, nodeId, storageDriver: info.Driver });
    }
    await waitReady(manager, nodes.map((n) => n.nodeId), 60_000);
    say(`swarm formed: ${nodes.map((n) => `${n.hostname}=${n.nodeId.slice(0, 12)}`).join(', ')}`);

    return {
      pid,
      dir,
      hubNetns: hub,
      hubAddress: HUB_IP,
      nodes,
      manager: nodes[0]!,
      socketsDir,
      socketTemplate: join(socketsDir, '{{.Node.ID}}.sock'),
      async stop(node) {
        const i = typeof node === 'number' ? node : node.index;
        killNodesSync([states[i]!], 0);
      },
      exec(cmd) {
        return run('nsenter', [`--net=${join(NETNS_DIR, hub)}`, '--', ...cmd]);
      },
      inHub(cmd) {
        return ['nsenter', `--net=${join(NETNS_DIR, hub)}`, '--', ...cmd];
      },
      async teardown() {
        teardownSync();
        liveFleets.delete(pid);
      },
    };
  } catch (e) {
    teardownSync();
    liveFleets.delete(pid);
    throw e;
  }
}

/** Waits until the manager lists every node as Ready. */
async function waitReady(manager: Docker, ids: string[], ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const list = (await manager.listNodes()) as Array<{ ID: string; Status?: { State?: string } }>;
    if (ids.every((id) => list.find((n) => n.ID === id)?.Status?.State === 'ready')) return;
    if (Date.now() > until) throw new Error(`swarm nodes not ready: ${JSON.stringify(list.map((n) => [n.ID, n.Status?.State]))}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
