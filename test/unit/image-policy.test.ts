import { describe, expect, it } from 'vitest';
import { imagePolicy, registryRef, workerFiles } from '../../harness/images/index.ts';
import { UsageError } from '../../harness/errors.ts';

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
