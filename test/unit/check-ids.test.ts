import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Z4J_CHECK } from '../../scenarios/z4j/check-ids.ts';
import { HIVELOOM_CHECK } from '../../scenarios/hiveloom/check-ids.ts';
import { z4jProfile } from '../../scenarios/z4j/index.ts';
import { hiveloomProfile } from '../../scenarios/hiveloom/index.ts';
import { HARNESS_REQUIRED_CHECKS } from '../../harness/verdict/index.ts';
import type { Manifest } from '../../harness/manifest/schema.ts';
import { PG_ARCHIVE_FORMAT } from '../../scenarios/z4j/pg/capture.ts';

const root = resolve(import.meta.dirname, '../..');

/** Every check id written as a literal in a profile's sources (`id: '...'`, `const id = '...'`). */
function literalIds(app: string): Set<string> {
  const files = readdirSync(join(root, 'scenarios', app), { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile() && d.name.endsWith('.ts') && !join(d.parentPath, d.name).includes('/native/'))
    .map((d) => join(d.parentPath, d.name));
  return new Set(files.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/(?:\bid: |\bconst id = )'([a-z0-9.*-]+)'/g)].map((m) => m[1]!)));
}

describe('check ids are one typed list per profile', () => {
  it.each([
    ['z4j', Object.values(Z4J_CHECK)],
    ['hiveloom', Object.values(HIVELOOM_CHECK)],
  ])('every fixed id the %s sources record is on its list (a misspelt one fails here)', (app, ids) => {
    const known = new Set<string>(ids);
    // The scan finds the ids at all (a pattern that matched nothing would pass anything).
    expect(literalIds(app).size).toBeGreaterThan(20);
    expect([...literalIds(app)].filter((id) => !known.has(id))).toEqual([]);
  });

  it('the required sets are made of listed ids (and ids built per table, tenant or expectation)', () => {
    const z4jIds = new Set<string>([...Object.values(Z4J_CHECK), ...HARNESS_REQUIRED_CHECKS]);
    const perItem = /^(compare\.(count|fingerprint)\.|app\.status\.|app\.agent-list\.)/;
    // What requiredChecks reads of a manifest: its format (z4j), its counts and fingerprints (Hiveloom's tenants).
    const manifest = (format: string) => ({ archive: { format }, expectations: { counts: { tenants: 1, 'agents[a]': 2, 'credentials[a]': 1 }, fingerprints: { tenants: 'x' } } }) as unknown as Manifest;
    for (const [profile, ids, m] of [
      [z4jProfile, z4jIds, manifest('sqlite')],
      [z4jProfile, z4jIds, manifest(PG_ARCHIVE_FORMAT)],
      [hiveloomProfile, new Set<string>([...Object.values(HIVELOOM_CHECK), ...HARNESS_REQUIRED_CHECKS]), manifest('tar.gz')],
    ] as const) {
      const required = [...profile.contract.requiredChecks(m), ...(profile.contract.requiredAfterUpgrade?.(m) ?? [])];
      expect(required.filter((id) => !ids.has(id) && !perItem.test(id))).toEqual([]);
    }
  });
});
