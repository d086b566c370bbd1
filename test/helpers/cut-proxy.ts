import { type Server, type Socket, connect, createServer } from 'node:net';

/**
 * A loopback TCP proxy in front of a real server that closes the connection
 * once `cutAfter` bytes of any one response have passed: a store that dies
 * mid-stream. Smaller responses (listings, HEAD) pass whole.
 */
export async function startCutProxy(target: { host: string; port: number }, cutAfter: number): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    let passed = 0;
    client.pipe(upstream);
    upstream.on('data', (d: Buffer) => {
      passed += d.length;
      if (passed > cutAfter) {
        client.write(d.subarray(0, Math.max(0, d.length - (passed - cutAfter))));
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(d);
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    upstream.on('end', end).on('error', end);
    client.on('error', end).on('close', () => upstream.destroy());
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}
