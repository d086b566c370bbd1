import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ensureImage } from '../../harness/images/index.ts';
import { DRILL_ID_LABEL, newDrillId, sweep } from '../../harness/runtime/index.ts';
import { dockerRuntime } from '../../harness/runtime/docker.ts';
import { z4jImage } from '../../scenarios/z4j/image.ts';
import { Z4J_PINNED_VERSION } from '../../scenarios/z4j/version.ts';
import { engine, skipReason } from './engine.ts';

describe.skipIf(skipReason)('sweep of labelled leftovers', () => {
  it('removes what a killed harness process left (containers, network, work folder made under another TMPDIR), and leaves a live owner alone', async () => {
    const { docker } = await engine();
    // The killed process made its work folder under its own TMPDIR; the sweep runs with another (this process's).
    const theirs = mkdtempSync(join(tmpdir(), 'rd-sweep-'));
    const state = join(theirs, 'state');
    const theirTmp = join(theirs, 'tmp');
    mkdirSync(theirTmp);
    const img = await ensureImage(docker, z4jImage(Z4J_PINNED_VERSION));
    const drillId = newDrillId();
    const filters = JSON.stringify({ label: [`${DRILL_ID_LABEL}=${drillId}`] });

    const child = spawn(process.execPath, ['--import', 'tsx', 'test/containers/fixtures/start-and-hang.ts', img.tag, drillId], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, TMPDIR: theirTmp, RESTORE_DRILL_STATE_DIR: state },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('child did not get ready')), 120_000);
      child.stdout.on('data', () => out.includes('ready') && (clearTimeout(t), resolve()));
      child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    });
    expect((await docker.listContainers({ all: true, filters })).length).toBe(2);
    expect((await docker.listNetworks({ filters })).length).toBe(1);

    // A container owned by this (live) process must survive the sweep.
    await using mine = await dockerRuntime(await engine()).start({ image: img.tag, drillId: newDrillId() });

    child.kill('SIGKILL');
    await once(child, 'exit');
    vi.stubEnv('RESTORE_DRILL_STATE_DIR', state); // the same user's state dir, as on one host
    const removed = await sweep(docker).finally(() => vi.unstubAllEnvs());
    expect(removed.containers).toBeGreaterThanOrEqual(2);
    expect(await docker.listContainers({ all: true, filters })).toEqual([]);
    expect(await docker.listNetworks({ filters })).toEqual([]);
    expect((await docker.getContainer(mine.id).inspect()).State.Running).toBe(true);
    // Its work folder (a copy of the backup, keys) goes with it.
    const work = /ready (\S+)/.exec(out)![1]!;
    expect(work.startsWith(`${theirTmp}/`)).toBe(true);
    expect(removed.workDirs).toBeGreaterThanOrEqual(1);
    expect(existsSync(work)).toBe(false);
    rmSync(theirs, { recursive: true, force: true });
  });
});
