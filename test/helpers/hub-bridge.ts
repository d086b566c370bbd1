import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection, createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Fleet } from './fleet-nodes.ts';

/**
 * A TCP service on this host's loopback made reachable inside a fleet's hub
 * namespace at the hub's address (what every node reaches), with no address
 * added anywhere else: a unix socket carries the bytes across (a socket file
 * is the one thing both namespaces share), this process connecting it to
 * 127.0.0.1:PORT and a forwarder entered into the hub namespace listening on
 * HUB:PORT.
 */
export interface HubBridge {
  /** http://HUB:PORT */
  url: string;
  close(): Promise<void>;
}

const FORWARDER = `
const net = require('node:net');
const [host, port, path] = process.argv.slice(1);
net.createServer((c) => { const u = net.createConnection(path); c.pipe(u); u.pipe(c); c.on('error', () => u.destroy()); u.on('error', () => c.destroy()); })
  .listen(Number(port), host, () => process.stdout.write('ready\\n'));
`;

export async function bridgeIntoHub(fleet: Fleet, port: number): Promise<HubBridge> {
  const dir = mkdtempSync(join(tmpdir(), 'rd-hub-bridge-'));
  const path = join(dir, 'bridge.sock');
  const server: Server = createServer((c) => {
    const t = createConnection({ host: '127.0.0.1', port });
    c.pipe(t);
    t.pipe(c);
    c.on('error', () => t.destroy());
    t.on('error', () => c.destroy());
  });
  await new Promise<void>((ok) => server.listen(path, ok));
  const [cmd, ...args] = fleet.inHub([process.execPath, '-e', FORWARDER, fleet.hubAddress, String(port), path]);
  const child: ChildProcess = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((ok, ko) => {
    child.stdout!.once('data', () => ok());
    child.once('exit', (code) => ko(new Error(`the hub forwarder ended (${code}): ${err}`)));
  });
  return {
    url: `http://${fleet.hubAddress}:${port}`,
    async close() {
      if (child.exitCode === null) {
        const gone = new Promise((ok) => child.once('exit', ok));
        child.kill('SIGTERM');
        await gone;
      }
      await new Promise((ok) => server.close(ok));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
