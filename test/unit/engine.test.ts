import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../harness/errors.ts';
import { ensureEngine, findEngine, resetEngineCache, resolveEngineHost } from '../../harness/runtime/engine.ts';

describe('finding a container engine', () => {
  afterEach(() => resetEngineCache());

  it('says exactly what it tried when DOCKER_HOST points nowhere, and changes nothing', async () => {
    const env = { DOCKER_HOST: 'tcp://127.0.0.1:1' };
    const found = await findEngine(env);
    expect(found.engine).toBeUndefined();
    expect(found.notes).toEqual(['DOCKER_HOST=tcp://127.0.0.1:1 does not answer (connection refused)']);
    const err = (await ensureEngine({ env, install: true }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/no container engine answers: DOCKER_HOST=tcp:\/\/127\.0\.0\.1:1 does not answer.*Start the engine DOCKER_HOST points at, or unset DOCKER_HOST/);
    expect(err.message).not.toContain('/var/run/docker.sock');
  });

  it('never falls back to the default socket when DOCKER_HOST names a socket that does not exist', async () => {
    const env = { DOCKER_HOST: 'unix:///nonexistent.sock' };
    const found = await findEngine(env);
    expect(found.engine).toBeUndefined();
    expect(found.notes).toEqual(['DOCKER_HOST=unix:///nonexistent.sock does not exist']);
  });

  it('names an engine that accepts connections and never answers, within a bounded time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rd-engine-'));
    const sock = join(dir, 'silent.sock');
    const server: Server = createServer(() => {}); // accepts, never replies
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      const found = await findEngine({ DOCKER_HOST: `unix://${sock}` });
      expect(found.notes).toEqual([`DOCKER_HOST=unix://${sock} does not answer (no reply within 5 s)`]);
    } finally {
      server.close();
    }
  });

  it('follows the current Docker context when DOCKER_HOST is unset', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rd-ctx-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ currentContext: 'remote' }));
    const meta = join(dir, 'contexts', 'meta', createHash('sha256').update('remote').digest('hex'));
    mkdirSync(meta, { recursive: true });
    writeFileSync(join(meta, 'meta.json'), JSON.stringify({ Name: 'remote', Endpoints: { docker: { Host: 'tcp://10.1.2.3:2376' } } }));
    expect(resolveEngineHost({ DOCKER_CONFIG: dir })).toEqual({ host: 'tcp://10.1.2.3:2376', named: 'Docker context "remote" (tcp://10.1.2.3:2376)' });
    expect(resolveEngineHost({ DOCKER_CONFIG: dir, DOCKER_HOST: 'unix:///x.sock' }).host).toBe('unix:///x.sock');
    expect(resolveEngineHost({ DOCKER_CONFIG: join(dir, 'none') })).toEqual({ host: 'unix:///var/run/docker.sock', named: '/var/run/docker.sock' });
  });

  it('installs and starts nothing unless asked (only setup asks)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rd-ctx-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ currentContext: 'gone' }));
    const meta = join(dir, 'contexts', 'meta', createHash('sha256').update('gone').digest('hex'));
    mkdirSync(meta, { recursive: true });
    writeFileSync(join(meta, 'meta.json'), JSON.stringify({ Endpoints: { docker: { Host: 'unix:///nonexistent/ctx.sock' } } }));
    await expect(ensureEngine({ env: { DOCKER_CONFIG: dir } })).rejects.toThrow(/Docker context "gone" \(unix:\/\/\/nonexistent\/ctx\.sock\) does not exist/);
  });
});

/**
 * A peer on loopback that accepts connections and never answers: the CLI names
 * it after 5 s and exits with the engine error at once, its socket destroyed,
 * instead of staying until the peer closes (which this one never does).
 */
describe('an engine that accepts and never answers', () => {
  /** A server on loopback that accepts and never writes a byte or closes a connection itself. */
  async function silentPeer(opening = ''): Promise<{ host: string; accepted: Promise<void>; hungUp: Promise<void>; close: () => void }> {
    const sockets: Socket[] = [];
    let accept!: () => void;
    let hangUp!: () => void;
    const accepted = new Promise<void>((r) => (accept = r));
    const hungUp = new Promise<void>((r) => (hangUp = r));
    const server = createServer((s) => {
      sockets.push(s);
      s.resume(); // reads (and drops) the request, so that the client's hang-up is seen
      if (opening) s.once('data', () => s.write(opening));
      s.on('error', () => {});
      s.on('close', () => hangUp()); // this side never ends it: a close is the client's doing
      accept();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    return {
      host: `tcp://127.0.0.1:${port}`,
      accepted,
      hungUp,
      close: () => {
        for (const s of sockets) s.destroy();
        server.close();
      },
    };
  }

  it.each([
    ['never answers', ''],
    ['answers the headers, then stalls in the body', 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"Vers'],
  ])('one that %s is named after 5 s, and its connection is closed then, not left to the peer', async (_what, opening) => {
    const peer = await silentPeer(opening);
    try {
      const found = await findEngine({ DOCKER_HOST: peer.host });
      expect(found.notes).toEqual([`DOCKER_HOST=${peer.host} does not answer (no reply within 5 s)`]);
      // In this (still running) process: the request was aborted and its socket destroyed.
      await peer.hungUp;
    } finally {
      peer.close();
    }
  });

  const dir = mkdtempSync(join(tmpdir(), 'rd-silent-'));
  const archive = join(dir, 'z4j.db');
  writeFileSync(archive, 'not drilled: the engine never answers');
  copyFileSync(new URL('./fixtures/manifests/z4j-sqlite-1.13.0.manifest.json', import.meta.url), `${archive}.manifest.json`);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function cli(args: string[], host: string) {
    const child = spawn(process.execPath, ['bin/restore-drill.mjs', ...args], {
      env: { ...process.env, DOCKER_HOST: host, RESTORE_DRILL_STATE_DIR: join(dir, 'state'), TMPDIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exit = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as string | null, stderr }));
    return { child, exit };
  }

  it.each([
    [['sweep']],
    [['run', '--profile', 'z4j', '--no-history', archive]],
  ])('%j exits 3 naming DOCKER_HOST while the peer still holds the connection open', async (args) => {
    const peer = await silentPeer();
    try {
      const { exit } = cli(args, peer.host);
      const r = await exit;
      expect(r).toMatchObject({ code: ExitCode.error, signal: null });
      expect(r.stderr).toContain(`no container engine answers: DOCKER_HOST=${peer.host} does not answer (no reply within 5 s)`);
    } finally {
      peer.close();
    }
  });

  it('SIGTERM while it waits for the answer exits 130 (interrupted) at once', async () => {
    const peer = await silentPeer();
    try {
      const { child, exit } = cli(['sweep'], peer.host);
      await peer.accepted; // the CLI is waiting for the engine's reply
      child.kill('SIGTERM');
      const r = await exit;
      expect(r).toMatchObject({ code: ExitCode.interrupted, signal: null });
      expect(r.stderr).toContain('SIGTERM');
    } finally {
      peer.close();
    }
  });
});
