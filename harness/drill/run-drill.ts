import { basename } from 'node:path';
import { newDrillId } from '../runtime/labels.ts';
import { localSource } from '../sources/local.ts';
import { conclude } from '../verdict/index.ts';
import { redactText } from '../model/secrets.ts';
import type { DrillReport, Observations } from '../model/types.ts';
import { archiveNameNote } from './archive-name.ts';
import { DrillRun, type DrillOptions } from './drill-run.ts';
import type { FetchOutcome } from './fetch.ts';
import { SourceError } from '../sources/source-error.ts';
import { longestStage, rtoFinding, seconds } from './recovery-time.ts';
import type { DrillPlan } from './plan.ts';
import { compareStage, fetchStage, imageFor, inspectStage, integrityStage, postUpgradeStage, probeStage, provisionStage, upgradeOf, type JudgedBeforeStart } from './stages.ts';

export type { DrillOptions } from './drill-run.ts';

/**
 * Runs one archive through the pipeline. Never throws for a drill problem:
 * every outcome, an unexpected crash included, ends in a report with a verdict.
 * Containers and the work folder are removed whatever happens. The report is
 * assembled here from what the stages returned; no stage writes into it.
 */
export async function runDrill(plan: DrillPlan, opts: DrillOptions): Promise<DrillReport> {
  const run = await DrillRun.begin(plan, opts);
  const { ctx } = run;
  const renamed = archiveNameNote(plan.archive, plan.manifest.archive.file);
  const observations: Observations = {
    ...(plan.secrets ? { secretsFileSha256: plan.secrets.fileSha256, secretsSource: plan.secrets.source } : {}),
  };
  /** Judged before anything starts, so a known mismatch is said (failed) without a container, and is not judged again. */
  const judged: JudgedBeforeStart = { secrets: true, archive: false };
  let fetched: { sha256: string; sizeBytes: number } | undefined;
  let outcome: FetchOutcome | undefined;
  let image: DrillReport['image'];
  let upgrade: DrillReport['upgrade'];
  let probed = false;
  const session = plan.profile.session(ctx);
  try {
    const ok =
      (await run.stage('fetch', async () => {
        try {
          outcome = await fetchStage(plan, ctx, opts.source ?? plan.remote?.source ?? localSource);
        } catch (e) {
          // The store's own answer (403, 404, a connection cut), in its one line: the drill ends error, nothing started.
          if (!(e instanceof SourceError)) throw e;
          ctx.check({ id: 'fetch.source', status: 'error', reason: e.message });
          return;
        }
        run.bytes('fetch', outcome.ok ? outcome.fetched.sizeBytes : outcome.bytesRead);
        if (!outcome.ok) return;
        run.archive = outcome.fetched.path;
        fetched = { sha256: outcome.fetched.sha256, sizeBytes: outcome.fetched.sizeBytes };
      })) &&
      (await run.stage('integrity', async () => integrityStage(plan, ctx, outcome!, observations))) &&
      (await run.stage('inspect', () => inspectStage(plan, ctx, session, observations, judged))) &&
      (await run.stage('provision', async () => {
        image = await imageFor(plan, ctx, plan.manifest.app.version);
        run.imageTag = image.tag;
        await provisionStage(plan, ctx, session, observations);
      })) &&
      (await run.stage('restore', () => session.restore())) &&
      (await run.stage('probe', async () => {
        Object.assign(observations, await probeStage(plan, ctx, session));
        probed = true;
      }));
    const compared =
      ok &&
      probed &&
      (await run.stage('compare', async () => {
        await compareStage(plan, ctx, observations, judged);
        judgeRecoveryTime(plan, run);
      }));
    // The gate's second half: the target version migrates the restored data, then everything is checked again.
    if (opts.upgradeTo !== undefined && compared && !run.checks.some((c) => c.status !== 'pass')) {
      const toVersion = opts.upgradeTo;
      upgrade = { toVersion };
      (await run.stage('upgrade', async () => {
        const migrate = upgradeOf(plan, session);
        const target = await imageFor(plan, ctx, toVersion);
        upgrade = { toVersion, image: target };
        await migrate(target.tag, toVersion);
      })) && (await run.stage('post-upgrade', () => postUpgradeStage(plan, ctx, session, observations, judged)));
    }
  } finally {
    await run.cleanup(session.dispose ? () => session.dispose!() : undefined);
  }
  return assemble(plan, run, { fetched, image, upgrade, notes: [...(renamed ? [renamed] : []), ...run.notes], gate: opts.upgradeTo !== undefined });
}

/** The recovery time against its budget: a check (rto.budget), or with --rto-warn a note when over. */
function judgeRecoveryTime(plan: DrillPlan, run: DrillRun): void {
  if (!plan.rto || run.recoveryMs === undefined) return;
  const f = rtoFinding(plan.rto, run.recoveryMs, run.stages);
  if (f.status !== 'pass' && plan.rto.warnOnly) run.ctx.note(`${f.reason} (reported only: --rto-warn)`);
  else run.ctx.check(f);
}

/** What the report says of the recovery time; a budget that binds but was never judged is an error check (fail-closed). */
function recoveryOf(plan: DrillPlan, run: DrillRun): DrillReport['recovery'] {
  if (plan.rto && !plan.rto.warnOnly && !run.checks.some((c) => c.id === 'rto.budget')) {
    run.checks.push({ id: 'rto.budget', stage: 'compare', status: 'error', reason: `the recovery time was not measured against the budget ${seconds(plan.rto.ms)}: the drill did not reach the restored application's checks` });
  }
  const longest = run.recoveryMs !== undefined ? longestStage(run.stages.filter((s) => s.name !== 'compare')) : undefined;
  const r: NonNullable<DrillReport['recovery']> = {
    ...(run.recoveryMs !== undefined ? { ms: Math.round(run.recoveryMs) } : {}),
    ...(plan.rto ? { budgetMs: plan.rto.ms, budgetFrom: plan.rto.from, ...(plan.rto.warnOnly ? { warnOnly: true } : {}) } : {}),
    ...(longest ? { longestStage: longest.name } : {}),
  };
  return Object.keys(r).length > 0 ? r : undefined;
}

/** The drill's report, from the plan, what the stages returned and the checks they recorded; the verdict decided on those checks. */
function assemble(
  plan: DrillPlan,
  run: DrillRun,
  got: { fetched: { sha256: string; sizeBytes: number } | undefined; image: DrillReport['image']; upgrade: DrillReport['upgrade']; notes: string[]; gate: boolean },
): DrillReport {
  const secrets = plan.secrets?.valuesToRedact() ?? [];
  const recovery = recoveryOf(plan, run);
  return {
    drillId: run.drillId,
    profile: plan.profile.name,
    archive: { ...archiveOf(plan), ...(got.fetched ?? {}) },
    manifest: { path: plan.manifestPath, sha256: plan.manifestSha256 },
    app: { name: plan.manifest.app.name, version: plan.manifest.app.version },
    ...conclude(plan, run.checks, run.stages, got.gate),
    ...(recovery ? { recovery } : {}),
    stages: run.stages,
    startedAt: run.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    durationMs: performance.now() - run.t0,
    ...(got.notes.length > 0 ? { notes: got.notes.map((n) => redactText(n, secrets)) } : {}),
    ...(got.image ? { image: got.image } : {}),
    ...(got.upgrade ? { upgrade: got.upgrade } : {}),
  };
}

/** The archive as a report names it: its path or location's display form, and where a remote one's bytes are pinned. */
function archiveOf(plan: DrillPlan): DrillReport['archive'] {
  const r = plan.remote;
  const file = r ? r.object.name : basename(plan.archive);
  const source = r ? { kind: r.source.kind, location: plan.archive, ...(r.object.version ? { version: r.object.version } : {}) } : undefined;
  return { path: plan.archive, file, createdAt: plan.manifest.archive.createdAt, ...(source ? { source } : {}) };
}

/** The report of a drill that never started (deadline passed, or interrupted first): an error, never a pass. */
export function notStarted(plan: DrillPlan, reason: string): DrillReport {
  const now = new Date().toISOString();
  return {
    drillId: newDrillId(),
    profile: plan.profile.name,
    archive: archiveOf(plan),
    manifest: { path: plan.manifestPath, sha256: plan.manifestSha256 },
    app: { name: plan.manifest.app.name, version: plan.manifest.app.version },
    verdict: 'error',
    summary: `plan: not started: ${reason}`,
    stages: [],
    checks: [{ id: 'plan.not-started', stage: 'plan', status: 'error', reason: `not started: ${reason}` }],
    startedAt: now,
    finishedAt: now,
    durationMs: 0,
  };
}

/** The report of an archive that cannot be drilled as it is (no manifest, an unsigned one): an error, never silence. */
export function unprovenReport(profile: string, archive: string, reason: string): DrillReport {
  const now = new Date().toISOString();
  return {
    drillId: newDrillId(),
    profile,
    archive: { path: archive, file: basename(archive) },
    verdict: 'error',
    summary: `plan: unproven: ${reason}`,
    stages: [],
    checks: [{ id: 'plan.unproven', stage: 'plan', status: 'error', reason }],
    startedAt: now,
    finishedAt: now,
    durationMs: 0,
  };
}
