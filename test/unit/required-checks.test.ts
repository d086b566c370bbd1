import { describe, expect, it } from 'vitest';
import { HARNESS_REQUIRED_CHECKS } from '../../harness/verdict/index.ts';
import type { Manifest } from '../../harness/manifest/schema.ts';
import type { Profile } from '../../harness/profile.ts';
import { HIVELOOM_CHECK, type HiveloomSessionCheckId } from '../../scenarios/hiveloom/check-ids.ts';
import { hiveloomProfile } from '../../scenarios/hiveloom/index.ts';
import { Z4J_CHECK, type Z4jSessionCheckId } from '../../scenarios/z4j/check-ids.ts';
import { z4jProfile } from '../../scenarios/z4j/index.ts';
import { PG_ARCHIVE_FORMAT } from '../../scenarios/z4j/pg/capture.ts';
import { Z4J_NEVER_REQUIRED as Z4J_NEVER_REQUIRED_IDS } from '../../scenarios/z4j/never-required.ts';

/**
 * A check that can fail a drill but is not required can also be silently
 * absent from a drill that passes: whatever it guards would then go unproven.
 * So every id of a profile's typed check ids (scenarios/<app>/check-ids.ts) is
 * either in the profile's required set (for some manifest it accepts), or
 * listed below as never required with why that is safe: a required check that
 * stands for it (its pass is implied, or its absence leaves a required check
 * unrecorded, which is never a pass). Each `covered` id must itself be required.
 */
interface NeverRequired {
  why: string;
  /** Required checks that make its absence safe. */
  covered: string[];
}

const HIVELOOM_NEVER_REQUIRED: Record<string, NeverRequired> = {
  'inspect.entry.*': { why: 'one refusal per bad entry; its pass is inspect.entries, recorded exactly when the safe reader refused no entry', covered: ['inspect.entries'] },
  'inspect.read': { why: "fails when the archive's databases cannot be read; its pass is inspect.tenants, recorded only when they were read", covered: ['inspect.tenants'] },
  'inspect.wal': {
    why: "only where the archive holds a -wal (a checkpointed database has none); the database's integrity_check runs with the WAL applied, and every table is read back from the restored files and compared with the manifest",
    covered: ['inspect.integrity', 'compare.count.*', 'compare.fingerprint.*'],
  },
  'provision.refused': { why: 'says why nothing was started after inspect refused the archive; the refusal leaves inspect.entries or inspect.backup-json unrecorded', covered: ['inspect.entries', 'inspect.backup-json'] },
  'restore.first-start': { why: 'an error only: without a server on the empty data dir the restore is never requested', covered: ['restore.hiveloom-restore'] },
  'restore.stale-sidecar': { why: 'a pass only (a -wal/-shm the first start left was removed); it cannot fail a drill', covered: [] },
  'probe.at-rest': { why: 'an error only: without the files at rest nothing of the restored data is read', covered: ['probe.master-key', 'probe.decrypt'] },
  'probe.read': { why: 'a reading problem leaves counts unobserved (an error), and every count the manifest records is required', covered: ['compare.count.*'] },
  'probe.platform-db': { why: 'without platform.db nothing of the restored data is read', covered: ['probe.integrity', 'probe.decrypt', 'compare.count.*'] },
  'probe.serve': { why: "an error only: without the server again Hiveloom's own listings do not run", covered: ['app.tenant-list', 'app.agent-list.*'] },
};

/** z4j's never-required ids live beside its contract (scenarios/z4j/never-required.ts), each with why and what stands for it. */
const Z4J_NEVER_REQUIRED = Z4J_NEVER_REQUIRED_IDS as Record<string, NeverRequired>;

/**
 * z4j ids neither required nor yet shown safe, left for the z4j session's reshaping (issue 21): this list
 * only ever shrinks. An id that becomes required, or moves to Z4J_NEVER_REQUIRED, must be taken off it.
 */
const Z4J_NOT_YET_REQUIRED_OR_SHOWN_SAFE = new Set<string>([]);

/** Ids a profile makes per item (typed as templates in its check-ids.ts), written as `prefix.*`. */
const hiveloomPerItem = ['inspect.entry.*'] as const;
const z4jPerItem = ['inspect.pg-rows.*', 'inspect.chain.*'] as const;
/** An item id of each pattern, typed as the profile's session ids: a pattern no profile makes would not compile. */
const itemExamples: Array<[string, HiveloomSessionCheckId | Z4jSessionCheckId]> = [
  ['inspect.entry.*', 'inspect.entry.symlink' satisfies HiveloomSessionCheckId],
  ['inspect.pg-rows.*', 'inspect.pg-rows.users' satisfies Z4jSessionCheckId],
  ['inspect.chain.*', 'inspect.chain.head' satisfies Z4jSessionCheckId],
];

/** What requiredChecks reads of a manifest: its format (z4j), its counts and fingerprints (one per count here). */
const manifest = (format: string, counts: Record<string, number>) =>
  ({ archive: { format }, app: {}, expectations: { counts, fingerprints: Object.fromEntries(Object.keys(counts).map((k) => [k, 'f'])) } }) as unknown as Manifest;

/** Every id some manifest of the profile requires (after a gate's upgrade too), the harness's own included. */
function requiredOver(profile: Profile, manifests: Manifest[]): Set<string> {
  return new Set([...HARNESS_REQUIRED_CHECKS, ...manifests.flatMap((m) => [...profile.contract.requiredChecks(m), ...(profile.contract.requiredAfterUpgrade?.(m) ?? [])])]);
}

/** A required id or pattern (`compare.count.*` stands for the per-key ids the contract builds, `app.agent-list.*` too). */
function isRequired(required: Set<string>, id: string): boolean {
  if (required.has(id)) return true;
  if (!id.endsWith('.*')) return false;
  const prefix = id.slice(0, -1);
  return [...required].some((r) => r.startsWith(prefix));
}

describe('a check that can fail a drill is required, or shown safe never to be', () => {
  const hiveloomRequired = requiredOver(hiveloomProfile, [
    // An instance archive (its tenant count recorded), a tenant archive with a store.
    manifest('hiveloom-tar.gz', { tenants: 1, 'agents[a]': 1, 'credentials[a]': 1 }),
    manifest('hiveloom-tar.gz', { 'agents[a]': 1, 'credentials[a]': 1 }),
  ]);
  const z4jRequired = requiredOver(z4jProfile, [manifest('sqlite', { users: 1 }), manifest(PG_ARCHIVE_FORMAT, { users: 1 })]);

  it.each([
    ['hiveloom', [...Object.values(HIVELOOM_CHECK), ...hiveloomPerItem], hiveloomRequired, HIVELOOM_NEVER_REQUIRED, new Set<string>()],
    ['z4j', [...Object.values(Z4J_CHECK), ...z4jPerItem], z4jRequired, Z4J_NEVER_REQUIRED, Z4J_NOT_YET_REQUIRED_OR_SHOWN_SAFE],
  ] as const)('%s: every typed id is required or on the never-required list', (_app, ids, required, never, notYet) => {
    // The required set is read at all (an empty one would make every id "not required").
    expect(required.size).toBeGreaterThan(10);
    const unproven = ids.filter((id) => !isRequired(required, id) && !(id in never) && !notYet.has(id));
    expect(unproven).toEqual([]);
  });

  it.each([
    ['hiveloom', [...Object.values(HIVELOOM_CHECK), ...hiveloomPerItem], hiveloomRequired, HIVELOOM_NEVER_REQUIRED],
    ['z4j', [...Object.values(Z4J_CHECK), ...z4jPerItem], z4jRequired, Z4J_NEVER_REQUIRED],
  ] as const)('%s: each never-required id is a typed id, not required, with a reason and required cover', (_app, ids, required, never) => {
    for (const [id, { why, covered }] of Object.entries(never)) {
      expect(ids as readonly string[]).toContain(id);
      expect(isRequired(required, id), `${id} is required: take it off the never-required list`).toBe(false);
      expect(why.length).toBeGreaterThan(20);
      for (const c of covered) expect(isRequired(required, c), `${id} is covered by ${c}, which is not required`).toBe(true);
    }
  });

  it('the per-item patterns are the profiles\' own', () => {
    expect(itemExamples.map(([pattern]) => pattern)).toEqual([...hiveloomPerItem, ...z4jPerItem]);
    for (const [pattern, example] of itemExamples) expect(example.startsWith(pattern.slice(0, -1))).toBe(true);
  });

  it('the z4j list only shrinks: each id on it is a z4j id still neither required nor shown safe', () => {
    const ids = new Set<string>([...Object.values(Z4J_CHECK), ...z4jPerItem]);
    expect([...Z4J_NOT_YET_REQUIRED_OR_SHOWN_SAFE].filter((id) => !ids.has(id) || isRequired(z4jRequired, id) || id in Z4J_NEVER_REQUIRED)).toEqual([]);
  });
});
