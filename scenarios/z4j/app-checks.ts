import type { DrillContext } from '../../harness/profile.ts';
import type { ExecOutcome } from '../../harness/runtime/index.ts';
import type { Observations } from '../../harness/drill/types.ts';
import { parseAuditVerify, parseCheck, parseMigrateCurrent, parseStatus, quote } from './parse.ts';
import { STATUS_LABELS } from './tables.ts';

/**
 * z4j's own checks after a restore, the same for every backend: `z4j check`
 * (whose "all green" is not trusted alone), the migration head, `z4j status`
 * counts and `z4j audit verify`. Each records a check on the drill.
 */
export type Run = (cmd: string[]) => Promise<ExecOutcome>;

export async function probeCheck(ctx: DrillContext, run: Run): Promise<void> {
  const r = await run(['z4j', 'check']);
  const parsed = parseCheck(r.stdout);
  if (!parsed) ctx.check({ id: 'app.check', status: 'error', reason: `z4j check printed nothing parseable (exit ${r.exitCode}): ${quote(r.stdout, r.stderr)}` });
  else if (r.exitCode !== 0 || !parsed.allGreen) ctx.check({ id: 'app.check', status: 'fail', reason: `z4j check is not green (exit ${r.exitCode}): ${quote(r.stdout, r.stderr)}` });
  else if (!parsed.revision) ctx.check({ id: 'app.check', status: 'fail', reason: `z4j check printed "all green" but the database has no migration revision: alembic version ${parsed.alembicRow ?? 'row missing'}` });
  else ctx.check({ id: 'app.check', status: 'pass', reason: `z4j check: all green, alembic at ${parsed.revision}` });
}

/** `version`: the z4j version running the command (the archive's, or a gate's target after an upgrade). */
export async function probeMigrationHead(ctx: DrillContext, run: Run, obs: Observations, version = ctx.manifest.app.version): Promise<void> {
  const r = await run(['z4j', 'migrate', 'current', '--check-heads']);
  const parsed = parseMigrateCurrent(r.stdout);
  if (!parsed) {
    ctx.check({ id: 'app.migration-head', status: r.exitCode === 0 ? 'error' : 'fail', reason: `z4j migrate current --check-heads (exit ${r.exitCode}): ${quote(r.stdout, r.stderr)}` });
    return;
  }
  obs.schemaRevision = parsed.revision;
  ctx.check(
    parsed.isHead && r.exitCode === 0
      ? { id: 'app.migration-head', status: 'pass', reason: `restored revision ${parsed.revision} is z4j ${version}'s migration head` }
      : { id: 'app.migration-head', status: 'fail', reason: `restored revision ${parsed.revision} is not z4j ${version}'s migration head (exit ${r.exitCode})`, observed: parsed.revision },
  );
}

/** `z4j status` counts by table, or undefined when it printed none. */
export async function probeStatus(ctx: DrillContext, run: Run): Promise<Record<string, number> | undefined> {
  const r = await run(['z4j', 'status']);
  const parsed = parseStatus(r.stdout);
  if (!parsed) {
    ctx.check({ id: 'app.status', status: 'error', reason: `z4j status printed no row counts (exit ${r.exitCode}): ${quote(r.stdout, r.stderr)}` });
    return undefined;
  }
  const counts: Record<string, number> = {};
  for (const [label, table] of Object.entries(STATUS_LABELS)) {
    const v = parsed.counts[label];
    if (v === undefined || v === 'n/a') ctx.check({ id: `app.status.${table}`, status: 'fail', reason: `z4j status could not count ${label} (${v ?? 'row missing'})` });
    else counts[table] = v;
  }
  return counts;
}

export async function probeAuditVerify(ctx: DrillContext, run: Run): Promise<void> {
  const r = await run(['z4j', 'audit', 'verify']);
  const parsed = parseAuditVerify(r.stdout);
  if (r.exitCode === 0 && parsed && parsed.problems.length === 0) ctx.check({ id: 'app.audit-verify', status: 'pass', reason: `z4j audit verify: ${parsed.verified} active rows verified` });
  else if (!parsed && r.exitCode === 0) ctx.check({ id: 'app.audit-verify', status: 'error', reason: `z4j audit verify printed nothing parseable: ${quote(r.stdout, r.stderr)}` });
  else ctx.check({ id: 'app.audit-verify', status: 'fail', reason: `z4j audit verify failed (exit ${r.exitCode}): ${quote(r.stdout, r.stderr, 6)}` });
}

/** z4j's own counts against the manifest (its audit count includes the restore's own rows). */
export function compareStatus(ctx: DrillContext, status: Record<string, number>, appendedRows: number): void {
  for (const [table, expected] of Object.entries(ctx.manifest.expectations.counts)) {
    let seen = status[table];
    if (seen === undefined || typeof expected !== 'number') continue;
    if (table === 'audit_log') seen -= appendedRows;
    ctx.check(
      seen === expected
        ? { id: `app.status.${table}`, status: 'pass', reason: `z4j status: ${table} ${seen}` }
        : { id: `app.status.${table}`, status: 'fail', reason: `z4j status: ${table} expected ${expected}, observed ${seen}`, expected, observed: seen },
    );
  }
}

/** z4j's restore signs an audit row of its own; it must name this archive. */
export function checkRestoreRows(ctx: DrillContext, appended: Array<{ metadata: string }>): void {
  for (const row of appended) {
    let digest: unknown;
    try {
      digest = (JSON.parse(row.metadata) as { source_stage_digest?: unknown }).source_stage_digest;
    } catch {
      digest = undefined;
    }
    ctx.check(
      digest === ctx.manifest.archive.sha256
        ? { id: 'probe.restore-audit-row', status: 'pass', reason: "z4j recorded the restore in its audit chain with this archive's sha256" }
        : { id: 'probe.restore-audit-row', status: 'fail', reason: `z4j's restore audit row names source digest ${String(digest)}, not this archive's sha256`, expected: ctx.manifest.archive.sha256, observed: digest },
    );
  }
}
