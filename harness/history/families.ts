import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { History, HistoryRow } from './store.ts';
import { isArchiveCandidate } from '../select/expand.ts';

/** One drill as the recoverability page shows it. */
export interface PageDrill {
  drillId: string;
  finishedAt: string;
  verdict: string;
  archive: string;
  file: string;
  summary: string;
  restoreMs: number | null;
  durationMs: number;
  /** Where its report was written, if the run wrote one. */
  report?: string;
}

/**
 * Backups that belong together: one profile's archives in one folder (a
 * nightly series, say). What the page reports on, and what a retention
 * policy keeps.
 */
export interface Family {
  profile: string;
  folder: string;
  /** Drills within the window, newest first. */
  drills: PageDrill[];
  /** The newest passed drill, at any time. */
  lastPassed?: PageDrill;
  /** Archives with no passed drill within max-age, and why. */
  gaps: Array<{ archive: string; why: string }>;
  /** Recovery-time budget, when one is recorded (the plot draws it as a line). */
  budgetMs?: number;
}

/**
 * Groups the history into families. Coverage here is judged by path, from the
 * history and the files now in the folder (an archive never drilled is a gap);
 * `history --coverage` judges by content (sha256) and is what a gate should use.
 */
export function families(history: History, opts: { profile?: string; since: Date; maxAgeMs: number; now: Date }): Family[] {
  const reports = history.reportPaths();
  const all = history.drills({ ...(opts.profile ? { profile: opts.profile } : {}) });
  const byKey = new Map<string, { profile: string; folder: string; rows: HistoryRow[] }>();
  for (const r of all) {
    const folder = dirname(r.archivePath);
    const key = `${r.profile}\0${folder}`;
    const f = byKey.get(key) ?? { profile: r.profile, folder, rows: [] };
    f.rows.push(r);
    byKey.set(key, f);
  }
  const cutoff = opts.now.getTime() - opts.maxAgeMs;
  const since = opts.since.toISOString();
  const page = (r: HistoryRow): PageDrill => {
    const report = reports.get(r.drillId);
    return {
      drillId: r.drillId, finishedAt: r.finishedAt, verdict: r.verdict, archive: r.archivePath, file: r.archiveFile,
      summary: r.summary, restoreMs: r.restoreMs, durationMs: r.durationMs, ...(report ? { report } : {}),
    };
  };
  return [...byKey.values()]
    .sort((a, b) => a.profile.localeCompare(b.profile) || a.folder.localeCompare(b.folder))
    .map(({ profile, folder, rows }) => {
      // rows are newest first, as the history returns them
      const last = rows.find((r) => r.verdict === 'passed');
      const passedAt = new Map<string, number>();
      for (const r of rows) if (r.verdict === 'passed' && !passedAt.has(r.archivePath)) passedAt.set(r.archivePath, Date.parse(r.finishedAt));
      const archives = new Set(rows.map((r) => r.archivePath));
      for (const f of onDisk(folder)) archives.add(f);
      const gaps = [...archives]
        .sort()
        .flatMap((a) => {
          const t = passedAt.get(a);
          if (!existsSync(a)) return []; // gone: retention removed it; nothing left to prove
          if (t === undefined) return [{ archive: a, why: 'never passed a drill' }];
          if (t < cutoff) return [{ archive: a, why: `last passed ${new Date(t).toISOString()}` }];
          return [];
        });
      // The budget the newest drill was held to: the line the plot draws.
      const budget = rows.find((r) => r.rtoBudgetMs !== null)?.rtoBudgetMs ?? undefined;
      return { profile, folder, drills: rows.filter((r) => r.finishedAt >= since).map(page), ...(last ? { lastPassed: page(last) } : {}), gaps, ...(budget !== undefined ? { budgetMs: budget } : {}) };
    });
}

/** Archives in a folder now (as `run FOLDER` would take them); none when it is gone. */
function onDisk(folder: string): string[] {
  try {
    return readdirSync(folder)
      .filter(isArchiveCandidate)
      .map((f) => join(folder, f))
      .filter((p) => statSync(p).isFile());
  } catch {
    return [];
  }
}
