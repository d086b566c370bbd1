import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
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
