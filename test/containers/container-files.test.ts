import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrillContainer } from '../../harness/runtime/index.ts';
import { dockerRuntime } from '../../harness/runtime/docker.ts';
import { z4jImage } from '../../scenarios/z4j/image.ts';
import { Z4J_PINNED_VERSION } from '../../scenarios/z4j/version.ts';
import { engine, skipReason } from './engine.ts';

// Files in and out of a drill's container in one engine call each: what the
// drills rely on instead of a mkdir, an ls, and one copy per file.
describe.skipIf(skipReason)('files in and out of a container', () => {
  let c: DrillContainer;
  const dir = mkdtempSync(join(tmpdir(), 'rd-container-files-'));
  const sh = async (script: string) => (await c.exec(['sh', '-c', script], { timeoutMs: 60_000 })).stdout;

  beforeAll(async () => {
    const runtime = dockerRuntime(await engine());
    const image = await runtime.image(z4jImage(Z4J_PINNED_VERSION));
    c = await runtime.start({ image: image.tag, drillId: 'test-container-files', labels: { 'io.restore-drill.role': 'test' } });
  });
  afterAll(async () => {
    await c?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('puts bytes and host files in one call, making missing folders, each with its mode', async () => {
    const host = join(dir, 'archive.bin');
    writeFileSync(host, Buffer.alloc(300_000, 7));
    await c.putFiles([
      { target: '/new/deeper/secret.env', content: 'A=1\n', mode: 0o600 },
      { target: '/new/archive.bin', source: host, mode: 0o640 },
    ]);
    expect(await sh('stat -c "%a %s %n" /new/deeper/secret.env /new/archive.bin /new /new/deeper')).toBe(
      '600 4 /new/deeper/secret.env\n640 300000 /new/archive.bin\n755 4096 /new\n755 4096 /new/deeper\n',
    );
    expect(await sh('cat /new/deeper/secret.env; sha256sum < /new/archive.bin')).toBe(`A=1\n${createHash('sha256').update(readFileSync(host)).digest('hex')}  -\n`);
  });

  it('refuses a source that is not a regular file before anything is written', async () => {
    mkdirSync(join(dir, 'a-folder'));
    await expect(
      c.putFiles([
        { target: '/refused/first', content: 'x', mode: 0o600 },
        { target: '/refused/second', source: join(dir, 'a-folder'), mode: 0o600 },
      ]),
    ).rejects.toThrow(/is not a regular file/);
    expect(await sh('ls -A / | grep -c refused || true')).toBe('0\n');
  });

  it("lists a folder's entries as ls -A does and copies out only the regular files asked for", async () => {
    await sh('mkdir -p /data/sub && printf db > /data/app.db && printf wal > /data/app.db-wal && printf hidden > /data/.dot && printf deep > /data/sub/app.db && ln -s app.db /data/link && mkdir /data/wanted-dir');
    const out = join(dir, 'out');
    mkdirSync(out);
    const got = await c.copyDirOut('/data', {
      'app.db': join(out, 'app.db'),
      'app.db-wal': join(out, 'app.db-wal'),
      link: join(out, 'link'),
      'wanted-dir': join(out, 'wanted-dir'),
      missing: join(out, 'missing'),
    });
    expect(got.entries.sort()).toEqual((await sh('ls -A /data')).trim().split('\n').sort());
    expect(got.copied.sort()).toEqual(['app.db', 'app.db-wal']);
    expect(readFileSync(join(out, 'app.db'), 'utf8')).toBe('db');
    expect(readFileSync(join(out, 'app.db-wal'), 'utf8')).toBe('wal');
    for (const absent of ['link', 'wanted-dir', 'missing']) expect(existsSync(join(out, absent)), absent).toBe(false);

    // An empty folder lists nothing; a missing one is the engine's error.
    await sh('mkdir /empty');
    expect(await c.copyDirOut('/empty', {})).toEqual({ entries: [], copied: [] });
    await expect(c.copyDirOut('/no-such-folder', {})).rejects.toThrow();
  });

  it('reads a whole tree in one call: every entry with its mode, only the regular files asked for copied', async () => {
    await sh('mkdir -p /tree/tenants/t1 /tree/tenants/empty && printf key > /tree/master.key && chmod 600 /tree/master.key && printf s1 > /tree/tenants/t1/store.db && printf w1 > /tree/tenants/t1/store.db-wal && ln -s /etc/passwd /tree/tenants/t1/link');
    const out = join(dir, 'tree');
    mkdirSync(out);
    const asked: string[] = [];
    const got = await c.copyTreeOut('/tree', (path) => {
      asked.push(path);
      return path.endsWith('store.db') || path === 'master.key' ? join(out, path.replaceAll('/', '_')) : undefined;
    });
    expect(got.entries.map((e) => e.path).sort()).toEqual((await sh('cd /tree && find . -mindepth 1 | cut -c3-')).trim().split('\n').sort());
    expect(got.entries.find((e) => e.path === 'master.key')).toMatchObject({ type: 'file', mode: 0o600, size: 3 });
    expect(got.entries.find((e) => e.path === 'tenants/t1/link')?.type).toBe('symlink');
    // Only regular files are offered; folders and the link are not.
    expect(asked.sort()).toEqual(['master.key', 'tenants/t1/store.db', 'tenants/t1/store.db-wal']);
    expect(got.copied.sort()).toEqual(['master.key', 'tenants/t1/store.db']);
    expect(readFileSync(join(out, 'tenants_t1_store.db'), 'utf8')).toBe('s1');
    expect(readFileSync(join(out, 'master.key'), 'utf8')).toBe('key');
    // A missing path is named as a path (the engine's 404 reads "no such container").
    await expect(c.copyTreeOut('/no-such-tree', () => undefined)).rejects.toThrow(/^\/no-such-tree does not exist in the container /);
    await expect(c.copyOut('/tree/no-such-file', join(out, 'x'))).rejects.toThrow(/^\/tree\/no-such-file does not exist in the container /);
  });
});
