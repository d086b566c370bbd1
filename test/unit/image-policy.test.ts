import { describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { imagePolicy, localBaseTag, pinnedTag, presentImage, recipeHash, registryRef, workerFiles, type ImageRecipe, type PresentPolicy } from '../../harness/images/index.ts';
import { EnvironmentError, UsageError } from '../../harness/errors.ts';

const ID = `sha256:${'a'.repeat(64)}`;

describe('images present, never built (RESTORE_DRILL_IMAGES, RESTORE_DRILL_IMAGE_IDS)', () => {
  it('builds by default, and only "present" or "build" are accepted', () => {
    expect(imagePolicy({})).toEqual({ mode: 'build' });
    expect(imagePolicy({ RESTORE_DRILL_IMAGES: 'build', RESTORE_DRILL_IMAGE_IDS: '{}' })).toEqual({ mode: 'build' });
    expect(() => imagePolicy({ RESTORE_DRILL_IMAGES: 'yes' })).toThrow(UsageError);
  });

  it('present: the node is RESTORE_DRILL_NODE, and the ids are a map of tag -> sha256 id', () => {
    const ids = { 'restore-drill/z4j:1.13.0-0123456789ab': ID };
    expect(imagePolicy({ RESTORE_DRILL_IMAGES: 'present', RESTORE_DRILL_NODE: 'n1', RESTORE_DRILL_IMAGE_IDS: JSON.stringify(ids) })).toEqual({ mode: 'present', ids, node: 'n1' });
    expect(imagePolicy({ RESTORE_DRILL_IMAGES: 'present', RESTORE_DRILL_NODE: 'n1' })).toEqual({ mode: 'present', node: 'n1' });
    // Options win over the environment (a worker told in code).
    expect(imagePolicy({ RESTORE_DRILL_NODE: 'n2' }, { present: true, ids })).toEqual({ mode: 'present', ids, node: 'n2' });
  });

  it('refuses ids that are not JSON, not an object, or not image ids: a worker never guesses what to expect', () => {
    const env = { RESTORE_DRILL_IMAGES: 'present' };
    expect(() => imagePolicy({ ...env, RESTORE_DRILL_IMAGE_IDS: 'not json' })).toThrow(/not JSON/);
    expect(() => imagePolicy({ ...env, RESTORE_DRILL_IMAGE_IDS: '["x"]' })).toThrow(UsageError);
    expect(() => imagePolicy({ ...env, RESTORE_DRILL_IMAGE_IDS: JSON.stringify({ 'restore-drill/z4j:1.13.0': 'abc' }) })).toThrow(/sha256/);
  });
});

describe('registry references', () => {
  it('prefixes a local tag with the registry, and refuses what is no HOST[:PORT][/PATH]', () => {
    expect(registryRef('registry.internal:5000', 'restore-drill/z4j:1.13.0-0123456789ab')).toBe('registry.internal:5000/restore-drill/z4j:1.13.0-0123456789ab');
    expect(registryRef('10.0.0.5:5000/team', 'restore-drill/worker:0.1.0-0123456789ab')).toBe('10.0.0.5:5000/team/restore-drill/worker:0.1.0-0123456789ab');
    expect(() => registryRef('https://r:5000', 'a:b')).toThrow(UsageError);
    expect(() => registryRef('r:5000 --flag', 'a:b')).toThrow(UsageError);
  });
});

describe('the worker image is made of the CLI, not the project', () => {
  it('copies sources, the image recipes and the production packages with their native addons; no tests, no dev packages, no build intermediates', () => {
    const f = workerFiles();
    expect(f.sources).toContain('bin/restore-drill.mjs');
    expect(f.sources).toContain('harness/cli.ts');
    expect(f.sources.some((s) => s.startsWith('docker/') && s.endsWith('/Dockerfile'))).toBe(true);
    expect(f.sources.filter((s) => /^(test|bench|docs)\//.test(s) || s.includes('node_modules'))).toEqual([]);
    // Of a crate's target/ only release executables.
    expect(f.sources.filter((s) => s.includes('/target/') && !/\/target\/release\/[^/]+$/.test(s))).toEqual([]);
    expect(f.packages).toContain('node_modules/dockerode');
    expect(f.packages).toContain('node_modules/better-sqlite3');
    for (const dev of ['vitest', 'typescript', 'dependency-cruiser', 'playwright-core']) expect(f.packages).not.toContain(`node_modules/${dev}`);
    expect(f.packages.filter((p) => p.includes('@types/'))).toEqual([]);
    expect(f.nativeModules).toContain('better-sqlite3');
    expect(f.pkgFiles.filter((p) => p.startsWith('node_modules/better-sqlite3/build/') && !p.endsWith('.node'))).toEqual([]);
    expect(f.pkgFiles.filter((p) => p.startsWith('node_modules/better-sqlite3/deps/'))).toEqual([]);
  });
});

describe('presentImage: the image the submitter made present, by id, or an error naming image, node and remedy', () => {
  const recipe: ImageRecipe = { name: 'z4j', version: '1.13.0', dockerfile: 'FROM scratch\n' };
  const base = localBaseTag();
  const baseId = `sha256:${'b'.repeat(64)}`;
  const tag = `restore-drill/z4j:1.13.0-${'c'.repeat(12)}`;
  /** An engine holding `images` (ref -> id), as far as presentImage looks. */
  const engine = (images: Record<string, string>) =>
    ({
      getImage: (ref: string) => ({
        inspect: async () => {
          if (!images[ref]) throw Object.assign(new Error('no such image'), { statusCode: 404 });
          return { Id: images[ref], Config: { Labels: {} } };
        },
      }),
    }) as unknown as Docker;
  const present = (ids?: Record<string, string>): PresentPolicy => ({ mode: 'present', node: 'n2', ...(ids ? { ids } : {}) });

  it("takes the submitter's tag for the recipe's name and version when the node holds it with the expected id", async () => {
    const img = await presentImage(engine({ [tag]: ID }), recipe, present({ [tag]: ID, [base]: baseId }), '/var/run/docker.sock');
    expect([img.tag, img.id, img.cacheHit]).toEqual([tag, ID, true]);
  });

  it('missing, or another image under the tag: RD_IMAGE_MISSING naming the image, the node and images load', async () => {
    const missing = await presentImage(engine({}), recipe, present({ [tag]: ID }), '/var/run/docker.sock').catch((e: unknown) => e as EnvironmentError);
    expect(missing).toBeInstanceOf(EnvironmentError);
    expect((missing as EnvironmentError).code).toBe('RD_IMAGE_MISSING');
    expect((missing as Error).message).toContain(`the image ${tag} is not present on node n2 (engine /var/run/docker.sock)`);
    expect((missing as Error).message).toContain(`restore-drill images load ${tag} --to ENGINE`);
    await expect(presentImage(engine({ [tag]: baseId }), recipe, present({ [tag]: ID }), 'E')).rejects.toThrow(`the image ${tag} on node n2 is ${baseId}, not ${ID} as the submitter expects`);
  });

  it('an image the submitter did not name for this recipe is refused, even when the node has one of that name', async () => {
    await expect(presentImage(engine({ [tag]: ID }), recipe, present({ [`restore-drill/z4j:1.12.1-${'c'.repeat(12)}`]: ID }), 'E')).rejects.toThrow(/not among the images the submitter made present/);
  });

  it('without ids the tag is computed on the base present on the node; no base there is an error naming it', async () => {
    const computed = pinnedTag(recipe, recipeHash(recipe, baseId));
    expect((await presentImage(engine({ [base]: baseId, [computed]: ID }), recipe, present(), 'E')).tag).toBe(computed);
    await expect(presentImage(engine({ [computed]: ID }), recipe, present(), 'E')).rejects.toThrow(`the base image ${base} is not on node n2`);
  });
});
