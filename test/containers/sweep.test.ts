import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ensureImage } from '../../harness/images/index.ts';
import { DRILL_ID_LABEL, newDrillId, startContainer, sweep } from '../../harness/runtime/index.ts';
import { z4jImage } from '../../scenarios/z4j/image.ts';
import { Z4J_PINNED_VERSION } from '../../scenarios/z4j/version.ts';
import { engine, skipReason } from './engine.ts';

describe.skipIf(skipReason)('sweep of labelled leftovers', () => {
  it('removes what a killed harness process left (containers, network, work folder), and leaves a live owner alone', async () => {
    const { docker } = await engine();
    const img = await ensureImage(docker, z4jImage(Z4J_PINNED_VERSION));
    const drillId = newDrillId();
    const filters = JSON.stringify({ label: [`${DRILL_ID_LABEL}=${drillId}`] });

    const child = spawn(process.execPath, ['--import', 'tsx', 'test/containers/fixtures/start-and-hang.ts', img.tag, drillId], { stdio: ['ignore', 'pipe', 'inherit'] });
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
    await using mine = await startContainer({ image: img.tag, drillId: newDrillId() });

    child.kill('SIGKILL');
    await once(child, 'exit');
    const removed = await sweep(docker);
    expect(removed.containers).toBeGreaterThanOrEqual(2);
    expect(await docker.listContainers({ all: true, filters })).toEqual([]);
    expect(await docker.listNetworks({ filters })).toEqual([]);
    expect((await docker.getContainer(mine.id).inspect()).State.Running).toBe(true);
    // Its work folder (a copy of the backup, keys) goes with it.
    const work = /ready (\S+)/.exec(out)![1]!;
    expect(removed.workDirs).toBeGreaterThanOrEqual(1);
    expect(existsSync(work)).toBe(false);
  });
});
