import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureImage, imageId, type ImageRecipe } from '../../harness/images/index.ts';
import { imagesPrune } from '../../harness/commands/images.ts';
import { newDrillId } from '../../harness/runtime/index.ts';
import { dockerRuntime } from '../../harness/runtime/docker.ts';
import { z4jImage } from '../../scenarios/z4j/image.ts';
import { Z4J_PINNED_VERSION } from '../../scenarios/z4j/version.ts';
import { engine, skipReason } from './engine.ts';

describe.skipIf(skipReason)('images and isolated containers', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f();
  });

  it('runs the pinned z4j version in a container with network none', async () => {
    const { docker } = await engine();
    const img = await ensureImage(docker, z4jImage(Z4J_PINNED_VERSION));
    await using c = await dockerRuntime(await engine()).start({ image: img.tag, drillId: newDrillId() });
    const r = await c.exec(['z4j', '--version'], { timeoutMs: 60_000 });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toBe(Z4J_PINNED_VERSION);
    const info = await docker.getContainer(c.id).inspect();
    expect(info.HostConfig.NetworkMode).toBe('none');
    expect(info.Config.Labels['io.restore-drill.managed']).toBe('true');
  });

  it('gives the container no network interface but loopback', async () => {
    const { docker } = await engine();
    const img = await ensureImage(docker, z4jImage(Z4J_PINNED_VERSION));
    await using c = await dockerRuntime(await engine()).start({ image: img.tag, drillId: newDrillId() });
    const r = await c.exec(['ls', '/sys/class/net'], { timeoutMs: 30_000 });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split(/\s+/).filter(Boolean)).toEqual(['lo']);
    // And nothing outside answers: Python cannot open a socket to any address.
    const probe = await c.exec(['python3', '-c', 'import socket; socket.create_connection(("10.0.0.1", 53), timeout=2)'], { timeoutMs: 30_000 });
    expect(probe.exitCode).not.toBe(0);
    expect(probe.stderr).toMatch(/Network is unreachable|unreachable/);
  });

  it('builds an unchanged recipe once: the second build is a cache hit', async () => {
    const { docker } = await engine();
    const marker = randomBytes(8).toString('hex');
    const recipe: ImageRecipe = {
      name: 'cache-probe',
      version: marker,
      dockerfile: `ARG BASE\nFROM \${BASE}\nRUN echo ${marker} > /marker\n`,
      inputs: { marker },
    };
    const first = await ensureImage(docker, recipe);
    cleanup.push(() => docker.getImage(first.tag).remove({ force: true }).catch(() => undefined));
    cleanup.push(() => docker.getImage(`restore-drill/cache-probe:${marker}`).remove({ force: true }).catch(() => undefined));
    expect(first.cacheHit).toBe(false);
    const second = await ensureImage(docker, recipe);
    expect(second.cacheHit).toBe(true);
    expect(second.id).toBe(first.id);
    // A changed recipe is a different image.
    const changed = await ensureImage(docker, { ...recipe, inputs: { marker, extra: '1' } });
    cleanup.push(() => docker.getImage(changed.tag).remove({ force: true }).catch(() => undefined));
    expect(changed.hash).not.toBe(first.hash);
  });

  it('prunes an image superseded by a newer build of the same version, and keeps the current one', async () => {
    const { docker } = await engine();
    const marker = randomBytes(8).toString('hex');
    const recipe: ImageRecipe = { name: 'prune-probe', version: marker, dockerfile: `ARG BASE\nFROM \${BASE}\nRUN echo ${marker} > /marker\n`, inputs: { rev: '1' } };
    const old = await ensureImage(docker, recipe);
    const current = await ensureImage(docker, { ...recipe, dockerfile: `${recipe.dockerfile}RUN echo 2 >> /marker\n`, inputs: { rev: '2' } });
    cleanup.push(() => docker.getImage(current.tag).remove({ force: true }).catch(() => undefined));
    cleanup.push(() => docker.getImage(`restore-drill/prune-probe:${marker}`).remove({ force: true }).catch(() => undefined));
    const lines: string[] = [];
    await imagesPrune({ out: (l) => lines.push(l) });
    expect(lines).toContain(`removed\t${old.tag}`);
    expect(await imageId(docker, old.tag)).toBeUndefined();
    expect(await imageId(docker, current.tag)).toBe(current.id);
    const z4j = await ensureImage(docker, z4jImage(Z4J_PINNED_VERSION));
    expect(z4j.cacheHit).toBe(true);
  });
});
