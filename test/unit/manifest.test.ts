import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadManifest, parseManifest } from '../../harness/manifest/load.ts';
import { compareData } from '../../harness/verdict/compare.ts';
import type { ManifestInput } from '../../harness/manifest/schema.ts';
import { UsageError } from '../../harness/errors.ts';

export const sample: ManifestInput = {
  schemaVersion: 1,
  app: { name: 'app', version: '1.0.0', schemaRevision: 'abc' },
  archive: { file: 'a.db', format: 'sqlite', sha256: 'a'.repeat(64), sizeBytes: 10, createdAt: '2026-11-22T00:00:00Z' },
  expectations: { counts: { users: 3, tasks: { min: 1, max: 5 } }, fingerprints: { users: 'b'.repeat(64) } },
  capture: { tool: 'restore-drill', toolVersion: '0.1.0', capturedAt: '2026-11-22T00:00:00Z' },
};

describe('manifest', () => {
  it('accepts a valid manifest', () => {
    expect(parseManifest(sample).expectations.counts).toEqual({ users: 3, tasks: { min: 1, max: 5 } });
  });

  it('lists every schema problem with its JSON path', () => {
    const bad = { ...sample, schemaVersion: 2, archive: { ...sample.archive, sha256: 'nothex', sizeBytes: -1 }, extra: 1 };
    let err: unknown;
    try {
      parseManifest(bad, 'm.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    const msg = (err as Error).message;
    expect(msg).toContain('$.schemaVersion');
    expect(msg).toContain('$.archive.sha256');
    expect(msg).toContain('$.archive.sizeBytes');
    expect(msg).toMatch(/4 problems/);
  });

  it('says a manifest that is not JSON is unreadable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rd-'));
    writeFileSync(join(dir, 'm.json'), '{ not json');
    await expect(loadManifest(join(dir, 'm.json'))).rejects.toThrow(/is not JSON/);
    await expect(loadManifest(join(dir, 'missing.json'))).rejects.toThrow(/no such file/);
  });

  it('names table, expected and observed for a count off by one', () => {
    const f = compareData(parseManifest(sample), { schemaRevision: 'abc', counts: { users: 4, tasks: 2 }, fingerprints: { users: 'b'.repeat(64) } }, { revision: true });
    expect(f.filter((x) => x.status !== 'pass')).toEqual([
      expect.objectContaining({ id: 'compare.count.users', status: 'fail', reason: 'users: expected 3 rows, observed 4', expected: 3, observed: 4 }),
    ]);
  });

  it('refuses bounds with one end: {min: 0} would pass anything', () => {
    expect(() => parseManifest({ ...sample, expectations: { counts: { users: { min: 0 } } } })).toThrow(/\$\.expectations\.counts\.users/);
    expect(() => parseManifest({ ...sample, expectations: { counts: { users: { min: 5, max: 1 } } } })).toThrow(/min <= max/);
  });

  it('fails data the manifest does not cover instead of ignoring it', () => {
    const f = compareData(parseManifest(sample), { schemaRevision: 'abc', counts: { users: 3, tasks: 2, secrets: 1 }, fingerprints: { users: 'b'.repeat(64), secrets: 'c'.repeat(64) } }, { revision: true });
    expect(f.filter((x) => x.status === 'fail').map((x) => x.id)).toEqual(['compare.count.secrets', 'compare.fingerprint.secrets']);
  });

  it('treats an expectation that was not observed as an error, never a pass', () => {
    const f = compareData(parseManifest(sample), { counts: {}, fingerprints: {} }, { revision: true });
    expect(f.map((x) => x.status)).toEqual(['error', 'error', 'error', 'error']);
  });
});
