import { hostname } from 'node:os';
import { UsageError } from '../errors.ts';
import type { RunReport } from '../report/run-report.ts';

/** When a run posts its summary: on a run that did not pass (the default), or on every run. */
export type NotifyOn = 'failure' | 'always';
export const NOTIFY_ON: readonly NotifyOn[] = ['failure', 'always'];

/** How long a post may take before it counts as failed: a slow hook must not hold a nightly run. */
export const NOTIFY_TIMEOUT_MS = 5000;

export interface NotifyTarget {
  url: URL;
  on: NotifyOn;
}

/**
 * The notification URL from --notify, else $RESTORE_DRILL_NOTIFY (which keeps a
 * webhook's secret out of the process arguments). Checked before anything
 * starts; an unusable URL is a usage error that never repeats the value, since
 * a webhook carries its secret in the path or as user:password.
 */
export function notifyTarget(flag: string | undefined, on: NotifyOn | undefined, env: NodeJS.ProcessEnv): NotifyTarget | undefined {
  const text = flag ?? (env.RESTORE_DRILL_NOTIFY || undefined);
  if (text === undefined) {
    if (on) throw new UsageError('--notify-on goes with --notify URL (or $RESTORE_DRILL_NOTIFY)', 'RD_USAGE');
    return undefined;
  }
  const from = flag !== undefined ? '--notify' : '$RESTORE_DRILL_NOTIFY';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${from} takes an http:// or https:// URL, and this value is not one (not printed: it may hold a secret)`, 'RD_USAGE');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${from} takes an http:// or https:// URL, not ${url.protocol} (the rest is not printed: it may hold a secret)`, 'RD_USAGE');
  }
  return { url, on: on ?? 'failure' };
}

/** What may be printed of a notification URL: scheme and host only (no user, password, path or query). */
export function redactUrl(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

/** The body posted: `text` for Slack-compatible hooks, `restoreDrill` for anything that reads JSON. */
export interface NotifyPayload {
  text: string;
  restoreDrill: {
    status: RunReport['status'];
    tool: RunReport['tool'];
    host: string;
    startedAt: string;
    finishedAt: string;
    counts: { passed: number; failed: number; error: number };
    drills: Array<{ drillId: string; profile: string; archive: string; verdict: string; summary: string; durationMs: number }>;
    /** Reports this run wrote (reporter name and path), for the reader to open. */
    reports: Array<{ reporter: string; path: string }>;
    /** Why the run ended before its drills did (no container engine, say), when it did. */
    problem?: string;
  };
}

/** Lines of the Slack text that name drills: the rest are counted, so a big sweep stays one readable message. */
const TEXT_DRILLS = 20;

export function notifyPayload(run: RunReport, reports: Array<{ reporter: string; path: string }> = [], problem?: string): NotifyPayload {
  const count = (v: string) => run.drills.filter((d) => d.verdict === v).length;
  const counts = { passed: count('passed'), failed: count('failed'), error: count('error') };
  const icon = run.status === 'passed' ? ':white_check_mark:' : run.status === 'failed' ? ':x:' : ':warning:';
  // Problems first: the reader of a chat message sees the top.
  const order = { failed: 0, error: 1, passed: 2 } as const;
  const drills = [...run.drills].sort((a, b) => order[a.verdict] - order[b.verdict]);
  const lines = drills.slice(0, TEXT_DRILLS).map((d) => `• *${d.verdict.toUpperCase()}* \`${slack(d.archive.file)}\`${d.verdict === 'passed' ? '' : `: ${slack(d.summary)}`}`);
  if (drills.length > TEXT_DRILLS) lines.push(`• … and ${drills.length - TEXT_DRILLS} more`);
  const head = `${icon} restore-drill run *${run.status}* on ${slack(hostname())}: ${counts.passed} passed, ${counts.failed} failed, ${counts.error} error`;
  return {
    text: [head, ...(problem ? [`the run could not finish: ${slack(problem)}`] : []), ...lines, ...reports.map((r) => `${r.reporter} report: \`${slack(r.path)}\``)].join('\n'),
    restoreDrill: {
      status: run.status,
      tool: run.tool,
      host: hostname(),
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
      counts,
      drills: run.drills.map((d) => ({ drillId: d.drillId, profile: d.profile, archive: d.archive.path, verdict: d.verdict, summary: d.summary, durationMs: d.durationMs })),
      reports,
      ...(problem ? { problem } : {}),
    },
  };
}

/** Slack's mrkdwn: &, < and > are control characters in message text. */
function slack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Posts the run's summary when the policy says so. Never throws and never
 * changes the run's verdict: a refused, failing or slow hook is a warning on
 * the console, naming the hook by its host only.
 */
export async function notifyRun(
  target: NotifyTarget,
  run: RunReport,
  opts: { say: (line: string) => void; reports?: Array<{ reporter: string; path: string }>; problem?: string; timeoutMs?: number },
): Promise<boolean> {
  if (target.on === 'failure' && run.status === 'passed') return false;
  const shown = redactUrl(target.url);
  const timeoutMs = opts.timeoutMs ?? NOTIFY_TIMEOUT_MS;
  // fetch refuses a URL holding user:password; it goes as Basic authorization instead.
  const url = new URL(target.url);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (url.username || url.password) {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify(notifyPayload(run, opts.reports, opts.problem)),
      // A redirect would carry the payload somewhere the operator did not name.
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel().catch(() => {});
    if (!res.ok) {
      opts.say(`warning: the notification to ${shown} was not accepted: HTTP ${res.status}; the run's result stands`);
      return false;
    }
    opts.say(`notified ${shown} (HTTP ${res.status})`);
    return true;
  } catch (e) {
    opts.say(`warning: the notification to ${shown} failed: ${why(e, timeoutMs)}; the run's result stands`);
    return false;
  }
}

/** Why a post failed, in words that cannot carry the URL (fetch's own messages may quote it). */
function why(e: unknown, timeoutMs: number): string {
  const err = e as { name?: string; cause?: { code?: unknown; name?: unknown } };
  if (err.name === 'TimeoutError' || err.cause?.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
  const code = typeof err.cause?.code === 'string' ? err.cause.code : undefined;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host name not resolved';
  if (code) return /^[A-Z0-9_]+$/.test(code) ? code : 'network error';
  return 'network error';
}
