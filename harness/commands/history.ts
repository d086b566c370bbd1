import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ExitCode, UsageError } from '../errors.ts';
import { History, historyPath, parseDuration, type HistoryRow } from '../history/store.ts';
import { MANIFEST_MAX_BYTES, manifestPathFor } from '../manifest/load.ts';
import { createHash } from 'node:crypto';
import { sourceFor } from '../sources/source-for.ts';
import type { ArchiveSource, SourceObject } from '../sources/source.ts';
import { SourceError } from '../sources/source-error.ts';
import { sha256File } from '../archive/hash.ts';
import { isArchiveCandidate } from '../select/expand.ts';
import { checkOutputPath } from '../files/output-path.ts';
import { writeRecoverabilityPage } from '../history/page.ts';

export interface HistoryOptions {
  profile?: string;
  since: string;
  history?: string;
  coverage?: boolean;
  maxAge: string;
  /** Write the recoverability page (one self-contained HTML file) here. */
  html?: string;
  paths: string[];
  env?: NodeJS.ProcessEnv;
  now?: Date;
  print: (line: string) => void;
}

export async function historyCommand(opts: HistoryOptions): Promise<number> {
  const now = opts.now ?? new Date();
  const duration = (text: string, flag: string) => {
    try {
      return parseDuration(text);
    } catch (e) {
      throw new UsageError(`${flag}: ${(e as Error).message}`, 'RD_USAGE');
    }
  };
  // Every option is checked before any file is opened (or, by opening, made).
  const since = duration(opts.since, '--since');
  const maxAge = duration(opts.maxAge, '--max-age');
  const path = historyPath(opts.history, opts.env);
  if (opts.html) checkOutputPath(opts.html, 'recoverability page');
  const recorded = existsSync(path);
  if (!recorded && !opts.coverage && !opts.html) {
    opts.print(`no drills recorded yet (${path})`);
    return ExitCode.passed;
  }
  // Reading never creates a history: with none yet, no archive has a passed drill.
  const history = recorded ? History.open(path) : History.empty();
  try {
    if (opts.html) {
      const target = resolve(opts.html);
      await writeRecoverabilityPage(history, target, { ...opts, now, sinceMs: since, maxAgeMs: maxAge });
      opts.print(`recoverability page: ${target}`);
      if (!opts.coverage) return ExitCode.passed;
    }
    if (opts.coverage) return await coverage(history, opts, now.getTime() - maxAge);
    const rows = history.drills({ ...(opts.profile ? { profile: opts.profile } : {}), since: new Date(now.getTime() - since) });
    summary(rows, opts);
    return ExitCode.passed;
  } finally {
    history.close();
  }
}

function summary(rows: HistoryRow[], opts: HistoryOptions): void {
  if (rows.length === 0) {
    opts.print(`no drills in the last ${opts.since}`);
    return;
  }
  const passed = rows.filter((r) => r.verdict === 'passed').length;
  opts.print(`${rows.length} drills in the last ${opts.since}: ${passed} passed, ${rows.filter((r) => r.verdict === 'failed').length} failed, ${rows.filter((r) => r.verdict === 'error').length} error; pass rate ${((passed / rows.length) * 100).toFixed(1)}%`);
  const restores = rows.filter((r) => r.restoreMs !== null).reverse(); // oldest first
  if (restores.length > 0) {
    const half = Math.max(1, Math.floor(restores.length / 2));
    const avg = (xs: HistoryRow[]) => xs.reduce((n, r) => n + r.restoreMs!, 0) / xs.length / 1000;
    const older = avg(restores.slice(0, half));
    const newer = avg(restores.slice(-half));
    const trend = restores.length < 2 ? 'one measurement' : newer > older * 1.1 ? 'slower' : newer < older * 0.9 ? 'faster' : 'steady';
    opts.print(`restore time: ${avg(restores).toFixed(1)} s average; older half ${older.toFixed(1)} s, newer half ${newer.toFixed(1)} s (${trend})`);
  }
  recoveryByFamily(rows, opts.print);
  opts.print('finished              verdict  restore  archive');
  for (const r of rows.slice(0, 50)) {
    opts.print(`${r.finishedAt.slice(0, 19)}   ${r.verdict.padEnd(7)}  ${r.restoreMs === null ? '   -   ' : `${(r.restoreMs / 1000).toFixed(1).padStart(5)} s`}  ${r.archivePath}`);
  }
}

/**
 * Recovery time per family (one profile's archives in one folder or prefix),
 * oldest to newest: each drill's measured time, the newest budget and how many
 * went over it.
 */
function recoveryByFamily(rows: HistoryRow[], print: (line: string) => void): void {
  const byFamily = new Map<string, HistoryRow[]>();
  for (const r of [...rows].reverse()) {
    if (r.recoveryMs === null) continue;
    const key = `${r.profile} ${dirname(r.archivePath)}`;
    byFamily.set(key, [...(byFamily.get(key) ?? []), r]);
  }
  for (const [family, rs] of byFamily) {
    const budget = rs.at(-1)!.rtoBudgetMs;
    const over = budget === null ? 0 : rs.filter((r) => r.rtoBudgetMs !== null && r.recoveryMs! > r.rtoBudgetMs).length;
    const times = rs.slice(-12).map((r) => `${(r.recoveryMs! / 1000).toFixed(1)}`).join(' → ');
    print(`recovery time ${family}: ${times} s${budget === null ? ' (no budget)' : `; budget ${(budget / 1000).toFixed(0)} s, ${over} of ${rs.length} over it`}`);
  }
}

/**
 * Archives with no passed drill since `cutoff`: the ones a retention period
 * would leave unproven. Each is judged by its content (sha256) as it is on disk
 * now, so an overwritten file is not covered by an older file's pass, and an
 * archive without a manifest is listed as unproven, never left out.
 */
async function coverage(history: History, opts: HistoryOptions, cutoff: number): Promise<number> {
  const env = opts.env ?? process.env;
  const archives: Array<{ shown: string; remote?: { source: ArchiveSource; object: SourceObject } }> = [];
  const gone: string[] = [];
  for (const { archivePath } of opts.paths.length === 0 ? history.archives(opts.profile) : []) {
    const source = sourceFor(archivePath, env);
    if (!source) archives.push({ shown: archivePath });
    else {
      // A location the history knows: as it is in the store now (a key removed by retention is gone).
      const [object] = await source.list(archivePath).catch((e: unknown) => {
        if (e instanceof SourceError && e.code === 'RD_SOURCE_NOT_FOUND') return [];
        throw e;
      });
      if (object) archives.push({ shown: archivePath, remote: { source, object } });
      else gone.push(archivePath);
    }
  }
  for (const p of opts.paths) {
    const source = sourceFor(p, env);
    if (!source) archives.push(...expand(p).map((a) => ({ shown: a })));
    else for (const object of await source.list(p)) archives.push({ shown: source.display(object.location), remote: { source, object } });
  }
  let stale = gone.length;
  for (const a of gone) opts.print(`${a}\tno longer exists`);
  for (const { shown: a, remote } of archives) {
    const why = remote ? await uncoveredRemote(history, opts.profile, remote.source, remote.object, cutoff) : await uncovered(history, opts.profile, a, cutoff);
    if (!why) continue;
    stale++;
    opts.print(`${a}\t${why}`);
  }
  opts.print(`${stale} of ${archives.length + gone.length} archives without a passed drill in the last ${opts.maxAge}`);
  return stale > 0 ? ExitCode.failed : ExitCode.passed;
}

async function uncovered(history: History, profile: string | undefined, archive: string, cutoff: number): Promise<string | undefined> {
  if (!existsSync(archive)) return 'no longer exists';
  if (!existsSync(manifestPathFor(archive))) return 'unproven: no manifest beside it, so it cannot be drilled';
  const last = history.lastPassed(profile, await sha256File(archive));
  if (!last) return 'never passed a drill (as it is now: its content has no passed drill)';
  if (last.getTime() < cutoff) return `last passed ${last.toISOString()}`;
  return undefined;
}

/**
 * An archive in a store, judged like a local one by its content: its bytes are
 * streamed once through sha256 (nothing kept), so a key overwritten by a newer
 * backup is not covered by the old object's pass.
 */
async function uncoveredRemote(history: History, profile: string | undefined, source: ArchiveSource, object: SourceObject, cutoff: number): Promise<string | undefined> {
  if ((await source.readSmall(manifestPathFor(object.location), MANIFEST_MAX_BYTES)) === undefined) return 'unproven: no manifest beside it, so it cannot be drilled';
  const { stream } = await source.open(object.location);
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  const last = history.lastPassed(profile, hash.digest('hex'));
  if (!last) return 'never passed a drill (as it is now: its content has no passed drill)';
  if (last.getTime() < cutoff) return `last passed ${last.toISOString()}`;
  return undefined;
}

/** A folder stands for the archives in it: every file but manifests, signatures and hidden files. */
function expand(p: string): string[] {
  const abs = resolve(p);
  if (!existsSync(abs)) throw new UsageError(`${p} does not exist`, 'RD_USAGE');
  if (!statSync(abs).isDirectory()) return [abs];
  return readdirSync(abs)
    .filter(isArchiveCandidate)
    .map((f) => join(abs, f))
    .filter((f) => statSync(f).isFile())
    .sort();
}
