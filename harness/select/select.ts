import type { Manifest } from '../manifest/schema.ts';

export interface Selection {
  /** The newest N archives of each folder. */
  latest?: number;
  /** N random archives (reproducible with seed), from those taken within `withinMs`. */
  sample?: number;
  seed?: number;
  withinMs?: number;
  /** N archives without a passed drill in the history, oldest first. */
  oldestUndrilled?: number;
}

/** What selection reads of a planned drill (drill/plan.ts's Candidate is one). */
export interface Candidate {
  plan: { archive: string; manifest: Manifest; profile: { name: string } };
  folder: string;
}

/** When an archive was taken: its manifest says. */
function takenAt(c: Candidate): number {
  return Date.parse(c.plan.manifest.archive.createdAt);
}

/**
 * Narrows the candidates, each rule applied in turn. The order of the result
 * is oldest first, so a nightly log reads in time order.
 */
/** `lastPassed` answers by the archive's sha256: an overwritten file is a new archive, not one already proven. */
export function selectArchives<C extends Candidate>(all: C[], sel: Selection, deps: { now: Date; lastPassed?: (profile: string, sha256: string) => Date | undefined }): C[] {
  let picked = [...all].sort((a, b) => takenAt(a) - takenAt(b) || a.plan.archive.localeCompare(b.plan.archive));
  if (sel.latest !== undefined) {
    const byFolder = new Map<string, Candidate[]>();
    for (const c of picked) byFolder.set(c.folder, [...(byFolder.get(c.folder) ?? []), c]);
    const keep = new Set([...byFolder.values()].flatMap((cs) => cs.slice(-sel.latest!)));
    picked = picked.filter((c) => keep.has(c));
  }
  if (sel.oldestUndrilled !== undefined) {
    const lastPassed = deps.lastPassed ?? (() => undefined);
    picked = picked.filter((c) => !lastPassed(c.plan.profile.name, c.plan.manifest.archive.sha256)).slice(0, sel.oldestUndrilled);
  }
  if (sel.sample !== undefined) {
    const from = sel.withinMs !== undefined ? picked.filter((c) => deps.now.getTime() - takenAt(c) <= sel.withinMs!) : picked;
    const rand = mulberry32(sel.seed ?? Date.now());
    const pool = [...from].sort((a, b) => a.plan.archive.localeCompare(b.plan.archive));
    // Fisher-Yates on a seeded generator: the same seed and the same archives give the same pick.
    for (let i = pool.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
    const chosen = new Set(pool.slice(0, sel.sample));
    picked = picked.filter((c) => chosen.has(c));
  }
  return picked;
}

/** A small, well-known seeded PRNG (mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
