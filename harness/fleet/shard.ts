import { createHash } from 'node:crypto';
import { InternalError, UsageError } from '../errors.ts';

/**
 * A shard: the I-th of N deterministic parts of a run's selection, drilled by
 * one worker (`run --shard I/N`). Shards are numbered 1..N everywhere (the
 * command line, the report's `shard.index`, the file `shard-I-of-N.json`,
 * mergeShardReports' `lost` map): a scheduler that counts from 0
 * (Kubernetes' JOB_COMPLETION_INDEX) adds 1.
 */
export interface ShardSpec {
  /** 1-based. */
  index: number;
  count: number;
}

/** One archive of a selection as the split sees it: the location as written, then the archive's content digest. */
export interface ShardItem {
  /** The archive's location as reports name it (an absolute path, or a location's display form). */
  location: string;
  /** The archive's sha256 from its manifest; absent for an archive without one (reported unproven). */
  digest?: string;
}

/** The largest N: more shards than this is a typo, not a fleet. */
export const MAX_SHARDS = 10_000;

/** "I/N" (1-based) to a spec; anything else is a usage error naming the option. */
export function parseShard(text: string, option = '--shard'): ShardSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || !Number.isSafeInteger(index) || !Number.isSafeInteger(count) || count < 1 || count > MAX_SHARDS || index < 1 || index > count) {
    throw new UsageError(`${option} takes I/N with 1 <= I <= N <= ${MAX_SHARDS} (the first of two shards is 1/2), got ${JSON.stringify(text.slice(0, 40))}`, 'RD_USAGE');
  }
  return { index, count };
}

/** Byte order, not locale order: the same on every machine whatever its LANG. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The selection in the order shards are dealt from: by location as written,
 * then by content digest (the same location twice, if it was named twice).
 * Depends on nothing of the machine (no locale, no listing order, no clock).
 */
export function dealOrder<T extends ShardItem>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => compare(a.location, b.location) || compare(a.digest ?? '', b.digest ?? ''));
}

/** Which shard (1-based) the item at `position` of the deal order belongs to: dealt round-robin. */
export function shardAt(position: number, count: number): number {
  return (position % count) + 1;
}

/**
 * The items of shard `index` (1-based) of `count`: the selection sorted by
 * dealOrder, dealt round-robin. For any N the shards partition the selection
 * exactly (each item in one shard), their sizes differ by at most one, and the
 * split does not depend on the order the items came in.
 */
export function shardOf<T extends ShardItem>(items: readonly T[], index: number, count: number): T[] {
  if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(index) || index < 1 || index > count) {
    throw new InternalError(`shardOf: shard ${index} of ${count} does not exist (shards are 1..N)`);
  }
  return dealOrder(items).filter((_, p) => shardAt(p, count) === index);
}

/** What names a run's identity when no --run-id is given. */
export interface RunIdentity {
  profile: string;
  /** The whole selection's locations in deal order. */
  selection: readonly string[];
  count: number;
  /** --seed, when --sample picked the selection. */
  seed?: number;
}

/**
 * The default run id: a digest of the profile, the selected locations (in deal
 * order), N and the seed. Independent workers (a CI matrix) that see the same
 * selection agree on it with no coordination; a different selection, N or seed
 * is a different run, which merge refuses to mix.
 */
export function defaultRunId(id: RunIdentity): string {
  const text = JSON.stringify({ profile: id.profile, selection: id.selection, count: id.count, seed: id.seed ?? null });
  return `sel-${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
}

/** A --run-id as given: printable, short, usable in a file name, a label and a log line. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function parseRunId(text: string): string {
  if (!RUN_ID_PATTERN.test(text)) {
    throw new UsageError(`--run-id takes 1-128 letters, digits, ".", "_", ":" or "-" (starting with a letter or digit), got ${JSON.stringify(text.slice(0, 40))}`, 'RD_USAGE');
  }
  return text;
}

/** The report file of a shard at a --report-to location. */
export function shardFileName(index: number, count: number): string {
  return `shard-${index}-of-${count}.json`;
}

/** shard-I-of-N.json back to its numbers; undefined for any other name. */
export function parseShardFileName(name: string): ShardSpec | undefined {
  const m = /^shard-([1-9]\d*)-of-([1-9]\d*)\.json$/.exec(name);
  if (!m) return undefined;
  const index = Number(m[1]);
  const count = Number(m[2]);
  return index <= count ? { index, count } : undefined;
}
