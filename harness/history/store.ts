import { closeSync, constants, existsSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { DrillReport } from '../model/types.ts';
import { stateDir } from '../paths.ts';
import { UsageError } from '../errors.ts';

/** Where history lives: --history, else $RESTORE_DRILL_HISTORY, else the state dir. */
export function historyPath(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return historyLocation(explicit, env).path;
}

/**
 * Where history lives, and whether the user named it. Only the default (in
 * the state dir) has its folders made: a named file's folder must exist, so a
 * mistyped path is refused instead of growing folders where it points.
 */
export function historyLocation(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): { path: string; named: boolean } {
  const named = explicit ?? env.RESTORE_DRILL_HISTORY;
  return named !== undefined ? { path: named, named: true } : { path: join(stateDir(env), 'history.sqlite'), named: false };
}

export interface HistoryRow {
  drillId: string;
  profile: string;
  archivePath: string;
  archiveFile: string;
  archiveSha256: string | null;
  appVersion: string | null;
  verdict: string;
  summary: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  restoreMs: number | null;
  /** Recovery time (the drill's start until the restored application first answered), and the budget it was held to. */
  recoveryMs: number | null;
  rtoBudgetMs: number | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS drills (
  drill_id TEXT PRIMARY KEY,
  profile TEXT NOT NULL,
  archive_path TEXT NOT NULL,
  archive_file TEXT NOT NULL,
  archive_sha256 TEXT,
  app_version TEXT,
  verdict TEXT NOT NULL CHECK (verdict IN ('passed','failed','error')),
  summary TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL,
  duration_ms REAL NOT NULL,
  restore_ms REAL
);
CREATE INDEX IF NOT EXISTS drills_archive ON drills (archive_path, finished_at);
CREATE INDEX IF NOT EXISTS drills_finished ON drills (finished_at);
CREATE INDEX IF NOT EXISTS drills_sha256 ON drills (archive_sha256, finished_at);
CREATE TABLE IF NOT EXISTS drill_reports (
  drill_id TEXT PRIMARY KEY,
  report_path TEXT NOT NULL
);
`;

/**
 * The record of every drill, in an embedded SQLite file. WAL mode and a busy
 * timeout let several drill processes append at once (a nightly run and a CI
 * gate on one host).
 */
export class History {
  readonly path: string;
  readonly #db: Database.Database;

  /** Opens or creates the file; its folder must exist (see historyLocation). */
  constructor(path: string) {
    this.path = path;
    this.#db = new Database(path);
    this.#db.pragma('busy_timeout = 10000');
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.exec(SCHEMA);
    // Files written before recovery times were recorded gain the columns (NULL for their drills).
    const columns = new Set((this.#db.prepare('PRAGMA table_info(drills)').all() as Array<{ name: string }>).map((c) => c.name));
    for (const c of ['recovery_ms', 'rto_budget_ms']) if (!columns.has(c)) this.#db.exec(`ALTER TABLE drills ADD COLUMN ${c} REAL`);
  }

  record(r: DrillReport): void {
    const restore = r.stages.find((s) => s.name === 'restore');
    this.#db
      .prepare(
        `INSERT INTO drills (drill_id, profile, archive_path, archive_file, archive_sha256, app_version, verdict, summary, started_at, finished_at, duration_ms, restore_ms, recovery_ms, rto_budget_ms)
         VALUES (@drillId, @profile, @archivePath, @archiveFile, @archiveSha256, @appVersion, @verdict, @summary, @startedAt, @finishedAt, @durationMs, @restoreMs, @recoveryMs, @rtoBudgetMs)`,
      )
      .run({
        drillId: r.drillId,
        profile: r.profile,
        archivePath: r.archive.path,
        archiveFile: r.archive.file,
        archiveSha256: r.archive.sha256 ?? null,
        appVersion: r.app?.version ?? null,
        verdict: r.verdict,
        summary: r.summary,
        startedAt: r.startedAt,
        finishedAt: r.finishedAt,
        durationMs: r.durationMs,
        restoreMs: restore && restore.status === 'passed' ? restore.durationMs : null,
        recoveryMs: r.recovery?.ms ?? null,
        rtoBudgetMs: r.recovery?.budgetMs ?? null,
      });
  }

  /** Drills finished at or after `since`, newest first. */
  drills(opts: { profile?: string; since?: Date } = {}): HistoryRow[] {
    const rows = this.#db
      .prepare(
        `SELECT drill_id drillId, profile, archive_path archivePath, archive_file archiveFile, archive_sha256 archiveSha256, app_version appVersion,
                verdict, summary, started_at startedAt, finished_at finishedAt, duration_ms durationMs, restore_ms restoreMs,
                recovery_ms recoveryMs, rto_budget_ms rtoBudgetMs
           FROM drills WHERE (@profile IS NULL OR profile = @profile) AND finished_at >= @since ORDER BY finished_at DESC`,
      )
      .all({ profile: opts.profile ?? null, since: (opts.since ?? new Date(0)).toISOString() });
    return rows as HistoryRow[];
  }

  /**
   * When an archive, by its sha256, last passed a drill. Keyed by content, not
   * path: a `latest.db` overwritten by a newer backup is not covered by the old
   * file's pass.
   */
  lastPassed(profile: string | undefined, sha256: string): Date | undefined {
    const r = this.#db
      .prepare(`SELECT max(finished_at) AS t FROM drills WHERE (@profile IS NULL OR profile = @profile) AND archive_sha256 = @sha256 AND verdict = 'passed'`)
      .get({ profile: profile ?? null, sha256 }) as { t: string | null };
    return r.t ? new Date(r.t) : undefined;
  }

  /** Every archive path the history knows, with the time of its last passed drill (if any). */
  archives(profile?: string): Array<{ archivePath: string; lastPassed: Date | undefined }> {
    const rows = this.#db
      .prepare(`SELECT archive_path p, max(CASE WHEN verdict = 'passed' THEN finished_at END) t FROM drills WHERE (? IS NULL OR profile = ?) GROUP BY archive_path ORDER BY archive_path`)
      .all(profile ?? null, profile ?? null) as Array<{ p: string; t: string | null }>;
    return rows.map((r) => ({ archivePath: r.p, lastPassed: r.t ? new Date(r.t) : undefined }));
  }

  /**
   * Where a drill's report was written (recorded after the run's reports are
   * written, so a report a reporter failed to write is never linked). Kept in
   * its own table: history files from before it need no migration.
   */
  recordReport(drillIds: string[], reportPath: string): void {
    const put = this.#db.prepare(`INSERT OR REPLACE INTO drill_reports (drill_id, report_path) VALUES (?, ?)`);
    this.#db.transaction(() => {
      for (const id of drillIds) put.run(id, reportPath);
    })();
  }

  /** The report of each drill that has one recorded, by drill id. */
  reportPaths(): Map<string, string> {
    const rows = this.#db.prepare(`SELECT drill_id id, report_path p FROM drill_reports`).all() as Array<{ id: string; p: string }>;
    return new Map(rows.map((r) => [r.id, r.p]));
  }

  /** Opens (or creates) a history file; one that is not a drill history is a usage error naming it. */
  static open(path: string): History {
    // A folder, a FIFO or a device is no history (SQLite would fail on it with "disk I/O error", a read would throw or block).
    const st = existsSync(path) ? statSync(path) : undefined;
    if (st && !st.isFile()) throw new UsageError(`history file ${path} is not a regular file (${st.isDirectory() ? 'a folder' : st.isFIFO() ? 'a FIFO' : 'a device or socket'})`, 'RD_HISTORY_INVALID');
    // SQLite takes a short file without a header for an empty database and would write over it.
    if (st && st.size > 0) {
      const head = Buffer.alloc(16);
      const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
      try {
        readSync(fd, head, 0, 16, 0);
      } finally {
        closeSync(fd);
      }
      if (!head.equals(Buffer.from('SQLite format 3\0'))) throw new UsageError(`history file ${path} is not a restore-drill history (an SQLite file): it has no SQLite header`, 'RD_HISTORY_INVALID');
    }
    try {
      return new History(path);
    } catch (e) {
      throw new UsageError(`history file ${path} is not a restore-drill history (an SQLite file): ${(e as Error).message}`, 'RD_HISTORY_INVALID');
    }
  }

  /** A history with no drills that writes nothing anywhere: for reading where no history file exists yet. */
  static empty(): History {
    return new History(':memory:');
  }

  close(): void {
    this.#db.close();
  }
}

/** "30d", "12h", "90m", "45s", "2w" as milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/.exec(text.trim());
  if (!m) throw new UsageError(`"${text}" is not a duration like 30d, 12h, 90m, 45s or 2w`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
}
