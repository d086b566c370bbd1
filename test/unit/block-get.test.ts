import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlockGetHandler, type SignedRequest } from '../../harness/sources/block-get.ts';
import { SourceStreamError } from '../../harness/sources/source-error.ts';

const body = randomBytes(3 * 256 * 1024 + 12345);
let server: Server;
let port: number;
const seen: string[] = [];
let answer: (req: IncomingMessage, res: ServerResponse) => void;

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.url!);
    answer(req, res);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

function request(extra: Partial<SignedRequest> = {}): SignedRequest {
  return { protocol: 'http:', hostname: '127.0.0.1', port, method: 'GET', path: '/bucket/key', query: { 'x-id': 'GetObject' }, headers: { host: `127.0.0.1:${port}`, authorization: 'AWS4-HMAC-SHA256 x' }, ...extra };
}

/** The fallback records that it was asked and answers with a marker, as the SDK's own handler would answer. */
function handler() {
  const asked: SignedRequest[] = [];
  const h = new BlockGetHandler({ handle: async (r) => (asked.push(r), { response: 'fallback' }) });
  return { h, asked };
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

describe('BlockGetHandler', () => {
  it('reads a 200 with a Content-Length in blocks: the same bytes, the headers, and the query as the SDK writes it', async () => {
    answer = (_req, res) => {
      res.writeHead(200, { 'content-length': body.length, etag: '"abc"' });
      // In pieces, some smaller than a block and some spanning two.
      let at = 0;
      const next = () => {
        if (at >= body.length) return res.end();
        const n = Math.min(100_000 + (at % 7) * 50_000, body.length - at);
        res.write(body.subarray(at, at + n));
        at += n;
        setImmediate(next);
      };
      next();
    };
    const { h, asked } = handler();
    const { response } = (await h.handle(request({ query: { 'x-id': 'GetObject', versionId: "a b/c'(d)" } }))) as { response: { statusCode: number; headers: Record<string, string>; body: Readable } };
    expect(asked).toEqual([]);
    expect(response.statusCode).toBe(200);
    expect(response.headers).toMatchObject({ etag: '"abc"', 'content-length': String(body.length) });
    expect((await collect(response.body)).equals(body)).toBe(true);
    expect(seen.at(-1)).toBe('/bucket/key?versionId=a%20b%2Fc%27%28d%29&x-id=GetObject');
  });

  it('a consumer that reads slowly pauses the socket: every byte still arrives in order', async () => {
    answer = (_req, res) => {
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    };
    const { h } = handler();
    const { response } = (await h.handle(request())) as { response: { body: Readable } };
    const chunks: Buffer[] = [];
    for await (const c of response.body) {
      chunks.push(Buffer.from(c as Buffer));
      await new Promise((ok) => setTimeout(ok, 5));
    }
    expect(Buffer.concat(chunks).equals(body)).toBe(true);
  });

  it('any other answer (an error status, chunked framing) goes again through the SDK handler, which answers it', async () => {
    for (const respond of [
      (res: ServerResponse) => res.writeHead(404, { 'content-type': 'application/xml' }).end('<Error><Code>NoSuchKey</Code></Error>'),
      (res: ServerResponse) => res.writeHead(403).end('<Error><Code>AccessDenied</Code></Error>'),
      (res: ServerResponse) => res.writeHead(200, { 'transfer-encoding': 'chunked' }).end('abc'),
      (res: ServerResponse) => res.writeHead(307, { location: 'http://elsewhere/' }).end(),
    ]) {
      answer = (_req, res) => respond(res);
      const { h, asked } = handler();
      expect(await h.handle(request())).toEqual({ response: 'fallback' });
      expect(asked).toHaveLength(1);
    }
  });

  it('a range, another operation or a body is never taken: the SDK handler gets it without a request of ours', async () => {
    const before = seen.length;
    for (const r of [request({ headers: { range: 'bytes=0-9' } }), request({ query: { 'list-type': '2' } }), request({ method: 'HEAD' }), request({ method: 'PUT', body: 'x' })]) {
      const { h, asked } = handler();
      expect(await h.handle(r)).toEqual({ response: 'fallback' });
      expect(asked).toEqual([r]);
    }
    expect(seen.length).toBe(before);
  });

  it('a connection cut mid-body is an error of the stream, never a short end', async () => {
    answer = (_req, res) => {
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, 300_000), () => res.socket!.destroy());
    };
    const { h } = handler();
    const { response } = (await h.handle(request())) as { response: { body: Readable } };
    const e = await collect(response.body).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SourceStreamError);
    expect(e).toMatchObject({ message: 'the store closed the connection', code: 'RD_SOURCE_CUT' });
  });

  it('a server that closes before answering goes to the SDK handler (its errors and retries are the SDK’s)', async () => {
    answer = (req) => req.socket.destroy();
    const { h, asked } = handler();
    expect(await h.handle(request())).toEqual({ response: 'fallback' });
    expect(asked).toHaveLength(1);
  });

  describe('over TLS', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rd-block-get-tls-'));
    let tlsPort: number;
    let tlsServer: ReturnType<typeof createHttpsServer>;
    let requests = 0;
    beforeAll(async () => {
      // A certificate for 127.0.0.1 that only a process told to trust it trusts.
      const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
      if (made.status !== 0) throw new Error(`openssl could not make a test certificate: ${made.stderr || made.error}`);
      tlsServer = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) => {
        requests++;
        res.writeHead(200, { 'content-length': body.length });
        res.end(body);
      });
      await new Promise<void>((ok) => tlsServer.listen(0, '127.0.0.1', ok));
      tlsPort = (tlsServer.address() as { port: number }).port;
    });
    afterAll(async () => {
      await new Promise<void>((ok) => tlsServer.close(() => ok()));
      rmSync(dir, { recursive: true, force: true });
    });

    it('a server whose certificate is not trusted gets no request: the SDK handler is asked (and refuses it as it would)', async () => {
      const { h, asked } = handler();
      const before = requests;
      expect(await h.handle(request({ protocol: 'https:', port: tlsPort }))).toEqual({ response: 'fallback' });
      expect(asked).toHaveLength(1);
      expect(requests).toBe(before);
    });

    it('a trusted server (NODE_EXTRA_CA_CERTS, as the SDK trusts it) is read in blocks over TLS', async () => {
      const script = join(dir, 'get.mjs');
      writeFileSync(
        script,
        `import { createHash } from 'node:crypto';
import { BlockGetHandler } from ${JSON.stringify(join(import.meta.dirname, '../../harness/sources/block-get.ts'))};
let fellBack = false;
const h = new BlockGetHandler({ handle: async () => ((fellBack = true), { response: undefined }) });
const { response } = await h.handle({ protocol: 'https:', hostname: '127.0.0.1', port: ${tlsPort}, method: 'GET', path: '/b/k', query: { 'x-id': 'GetObject' }, headers: { host: '127.0.0.1' } });
const hash = createHash('sha256');
if (!fellBack) for await (const c of response.body) hash.update(c);
console.log(JSON.stringify({ fellBack, sha256: hash.digest('hex') }));
`,
      );
      const out = await new Promise<string>((ok, ko) => {
        const child = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') }, stdio: ['ignore', 'pipe', 'inherit'] });
        let text = '';
        child.stdout.on('data', (d: Buffer) => (text += d.toString()));
        child.on('error', ko).on('exit', (code) => (code === 0 ? ok(text) : ko(new Error(`exit ${code}`))));
      });
      expect(JSON.parse(out.trim().split('\n').at(-1)!)).toEqual({ fellBack: false, sha256: createHash('sha256').update(body).digest('hex') });
    });
  });
});
