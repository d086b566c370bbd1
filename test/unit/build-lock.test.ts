import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withBuildLock } from '../../harness/images/build-lock.ts';

describe('building an image once per tag', () => {
  const env = { RESTORE_DRILL_STATE_DIR: mkdtempSync(join(tmpdir(), 'rd-lock-')) };

  it('runs one build at a time for a key: concurrent drills share the one build and its result', async () => {
    let built = 0;
    let running = 0;
    let peak = 0;
    const build = async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 50));
      running--;
      return built > 0 ? 'cached' : `built ${++built}`;
    };
    const results = await Promise.all([withBuildLock('img:1', build, env), withBuildLock('img:1', build, env), withBuildLock('img:1', build, env)]);
    expect(peak).toBe(1);
    expect(built).toBe(1);
    expect(results.filter((r) => r === 'built 1')).toHaveLength(results.length); // joiners share the one build's result
  });

  it("takes over a lock whose owner process is gone, and waits for a live owner's", async () => {
    const dir = join(env.RESTORE_DRILL_STATE_DIR, 'locks');
    mkdirSync(dir, { recursive: true });
    const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
    writeFileSync(join(dir, 'img_2.lock'), JSON.stringify({ 'io.restore-drill.owner-pid': String(dead), 'io.restore-drill.owner-host': hostname() }));
    expect(await withBuildLock('img:2', async () => 'ran', env)).toBe('ran');
    expect(existsSync(join(dir, 'img_2.lock'))).toBe(false);

    writeFileSync(join(dir, 'img_3.lock'), JSON.stringify({ 'io.restore-drill.owner-pid': String(process.pid), 'io.restore-drill.owner-host': hostname() }));
    let ran = false;
    const waiting = withBuildLock('img:3', async () => (ran = true), env);
    await new Promise((r) => setTimeout(r, 700));
    expect(ran).toBe(false);
    const { rmSync } = await import('node:fs');
    rmSync(join(dir, 'img_3.lock'));
    await waiting;
    expect(ran).toBe(true);
  });
});
