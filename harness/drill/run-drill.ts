import { mkdirSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { makeWorkDir, removeWorkDir } from '../runtime/work-dir.ts';
import { archiveNameNote } from './archive-name.ts';
import { basename, join } from 'node:path';
import { sha256File } from '../archive/hash.ts';
import type { Engine } from '../runtime/engine.ts';
import { startContainer, type DrillContainer } from '../runtime/container.ts';
import { newDrillId } from '../runtime/labels.ts';
import { ensureImage } from '../images/index.ts';
import { compareAll, compareArchiveFacts, compareSecrets, conclude } from '../verdict/index.ts';
import type { DrillPlan } from './plan.ts';
import type { DrillContext } from '../profile.ts';
import { TimeoutError, errorMessage, UsageError, DrillError } from '../errors.ts';
import { progressWatcher } from './progress.ts';
import { debug } from '../log.ts';
import { redactText } from '../model/secrets.ts';
import { COMMAND_LIMIT_FLOOR_MS, commandLimit } from './command-limit.ts';
import type { CheckResult, DrillReport, Observations, StageName, StageTiming } from '../model/types.ts';

export interface DrillOptions {
  engine: Engine;
  /** Limit for one command in a container; default: derived from the archive by the profile (see command-limit.ts). */
  execTimeoutMs?: number;
  /** The whole drill's limit: when it passes, the drill ends `error`, naming the stage it was in. */
  timeoutMs?: number;
  /**
   * Ends the drill at once (its containers removed), e.g. on SIGINT/SIGTERM or
   * when the run's deadline passes; abort it with the reason 'interrupted' or 'deadline'.
   */
  signal?: AbortSignal;
  /**
   * Pre-upgrade gate: after the drill passes, upgrade the restored data with
   * this version's own migration path and check everything again with it.
   */
  upgradeTo?: string;
  /** Progress lines (stage starts) for the console. */
  onStage?: (archive: string, stage: StageName) => void;
  /** What the drill's containers are doing now (command, parsed output, bytes copied), for a live line. */
  onProgress?: (archive: string, text: string) => void;
}

/**
 * Runs one archive through the pipeline. Never throws for a drill problem:
 * every outcome, an unexpected crash included, ends in a report with a verdict.
 * Containers and the work folder are removed whatever happens.
 */
export async function runDrill(plan: DrillPlan, opts: DrillOptions): Promise<DrillReport> {
  const drillId = newDrillId();
  const startedAt = new Date();
  const t0 = performance.now();
  const checks: CheckResult[] = [];
  const stages: StageTiming[] = [];
  const containers: DrillContainer[] = [];
  const report: DrillReport = {
    drillId,
    profile: plan.profile.name,
    archive: { path: plan.archive, file: basename(plan.archive), createdAt: plan.manifest.archive.createdAt },
    manifest: { path: plan.manifestPath, sha256: plan.manifestSha256 },
    app: { name: plan.manifest.app.name, version: plan.manifest.app.version },
    verdict: 'error',
    summary: '',
    stages,
    checks,
    startedAt: startedAt.toISOString(),
    finishedAt: '',
    durationMs: 0,
  };
  const renamed = archiveNameNote(plan.archive, plan.manifest.archive.file);
  if (renamed) report.notes = [renamed];
  const workDir = await makeWorkDir(drillId);
  let current: StageName = 'plan';
  // Timeout and interrupt end the drill where it stands; later checks from the
  // abandoned stage are ignored so they cannot change the verdict.
  const abort = new AbortController();
  let ended: string | undefined;
  const end = (why: string) => {
    if (abort.signal.aborted) return;
    ended = why;
    abort.abort();
    void Promise.allSettled(containers.map((c) => c.stop()));
  };
  const timer = opts.timeoutMs ? setTimeout(() => end('timeout'), opts.timeoutMs) : undefined;
  const onOuterAbort = () => end(String(opts.signal?.reason ?? 'interrupted'));
  if (opts.signal?.aborted) onOuterAbort();
  opts.signal?.addEventListener('abort', onOuterAbort);
  const aborted = new Promise<void>((resolve) => abort.signal.addEventListener('abort', () => resolve()));
  const recipe = plan.profile.image(plan.manifest.app.version, plan.manifest);
  const limit = commandLimit(plan.profile, plan.manifest, opts.execTimeoutMs);
  let imageTag = '';
  const onProgress = opts.onProgress;
  const watch = onProgress
    ? progressWatcher({
        ...(plan.profile.progress ? { parse: (line: string) => plan.profile.progress!(line) } : {}),
        secrets: plan.secrets?.valuesToRedact() ?? [],
        emit: (text) => {
          if (!abort.signal.aborted) onProgress(plan.archive, text);
        },
      })
    : undefined;
  /** Set by a failing check that settles the verdict before anything starts: the pipeline stops after its stage. */
  let settled = false;

  const ctx: DrillContext = {
    drillId,
    archive: plan.archive,
    manifest: plan.manifest,
    secrets: plan.secrets,
    get image() {
      return imageTag;
    },
    workDir,
    signal: abort.signal,
    workSubdir(name) {
      abort.signal.throwIfAborted();
      // Not recursive: once the drill removed workDir, this fails instead of recreating it.
      const dir = join(workDir, name);
      mkdirSync(dir, { mode: 0o700 });
      return dir;
    },
    execTimeoutMs: limit.ms,
    async start(o) {
      if (abort.signal.aborted) throw new DrillError(`drill ended (${ended}) before a container could start`, 'RD_DRILL_ENDED');
      const c = await startContainer({ ...o, image: o.image ?? imageTag, drillId });
      containers.push(c);
      if (watch) c.activity = watch;
      if (abort.signal.aborted) await c.stop();
      return c;
    },
    check(result, o) {
      if (abort.signal.aborted) return;
      // Kept as found: the verdict is decided on these, and only the report is scrubbed of secrets.
      checks.push({ ...result, stage: current });
      if (o?.stop && result.status === 'fail') settled = true;
    },
    note(text) {
      if (abort.signal.aborted) return;
      (report.notes ??= []).push(text);
    },
  };

  /** Runs a stage; returns false when the pipeline must stop after it. */
  const stage = async (name: StageName, fn: () => Promise<void>): Promise<boolean> => {
    current = name;
    opts.onStage?.(plan.archive, name);
    const before = checks.length;
    const s = performance.now();
    let status: StageTiming['status'] = 'passed';
    try {
      if (abort.signal.aborted) throw new DrillError('ended', 'RD_DRILL_ENDED');
      await Promise.race([fn(), aborted]);
    } catch (e) {
      debug.drill('stage %s threw: %O', name, e);
      ctx.check({
        id: `${name}.${e instanceof TimeoutError ? 'timeout' : 'crash'}`,
        status: 'error',
        reason:
          e instanceof TimeoutError
            ? `timed out in stage ${name}: ${e.message} (${limit.explicit ? 'the limit set with --exec-timeout' : `the limit derived from this archive, at least ${COMMAND_LIMIT_FLOOR_MS / 1000} s`}; raise it with --exec-timeout SECONDS)`
            : `the harness could not finish stage ${name}: ${errorMessage(e)}`,
      });
    }
    if (abort.signal.aborted) {
      const why: Record<string, string> = {
        timeout: `timed out in stage ${name}: the drill did not finish within ${(opts.timeoutMs ?? 0) / 1000} s (--timeout)`,
        deadline: `the run's --deadline passed while the drill was in stage ${name}`,
        interrupted: `interrupted in stage ${name} (SIGINT/SIGTERM)`,
      };
      checks.push({ id: `${name}.${ended}`, stage: name, status: 'error', reason: why[ended ?? ''] ?? `ended in stage ${name}: ${ended}` });
    }
    const mine = checks.slice(before);
    if (mine.some((c) => c.status === 'fail')) status = 'failed';
    else if (mine.some((c) => c.status === 'error')) status = 'error';
    stages.push({ name, status, durationMs: performance.now() - s });
    // A bad archive or secrets file (integrity) starts nothing, and a failed
    // provision or restore leaves nothing to probe. Inspect findings do not
    // stop the drill, so the application's own restore still gets its say,
    // except those that settle the verdict already (an archive not of the
    // profile's kind, a manifest the archive's own facts contradict): a
    // container would only repeat them, slowly. A failing probe still lets
    // the comparison list every difference.
    if (abort.signal.aborted || settled) return false;
    return status === 'passed' || name === 'inspect' || name === 'probe';
  };

  const observations: Observations = {
    ...(plan.secrets ? { secretsFileSha256: plan.secrets.fileSha256, secretsSource: plan.secrets.source } : {}),
  };
  /** Judged before anything starts, so a known mismatch is said (failed) without a container, and is not judged again. */
  const judgedBeforeStart = { secrets: true, archive: false };
  let probed = false;
  const session = plan.profile.session(ctx);
  const compareInput = { manifest: plan.manifest, contract: plan.profile.contract, policy: plan.policy, judgedBeforeStart, ...(plan.previous ? { previous: plan.previous } : {}) };

  /** The gate's second half: the target version migrates the restored data, then everything is checked again. */
  const runUpgrade = async (toVersion: string) => {
    report.upgrade = { toVersion };
    const upgraded =
      (await stage('upgrade', async () => {
        if (!session.upgrade) throw new UsageError(`the ${plan.profile.name} profile cannot upgrade restored data`, 'RD_USAGE');
        const built = await ensureImage(opts.engine.docker, plan.profile.image(toVersion, plan.manifest));
        report.upgrade = { toVersion, image: { tag: built.tag, id: built.id, cacheHit: built.cacheHit } };
        await session.upgrade(built.tag, toVersion);
      })) &&
      (await stage('post-upgrade', async () => {
        const after = await session.probe();
        // The schema revision moves with an upgrade (the probe checks it is the
        // target's head); everything else must be exactly what the backup held.
        for (const f of compareAll({ ...compareInput, obs: { ...observations, ...after }, afterUpgrade: true })) ctx.check(f);
      }));
    return upgraded;
  };
  try {
    const ok =
      (await stage('integrity', async () => {
        await checkIntegrity(plan, ctx, report);
        // The secrets file against the one recorded at capture, as the application reads it where the profile knows how.
        if (plan.secrets && plan.profile.readSecrets) observations.secretsRead = plan.profile.readSecrets(plan.secrets);
        for (const f of compareSecrets(plan.manifest, observations)) ctx.check(f);
      })) &&
      (await stage('inspect', async () => {
        const facts = await session.inspect();
        if (facts) observations.archive = facts;
        // The version the archive records against the manifest's, before the application can refuse the archive first.
        if (facts?.appVersion !== undefined) {
          judgedBeforeStart.archive = true;
          for (const f of compareArchiveFacts(plan.manifest, facts, plan.profile.contract)) ctx.check(f, { stop: true });
        }
      })) &&
      (await stage('provision', async () => {
        const built = await ensureImage(opts.engine.docker, recipe);
        imageTag = built.tag;
        report.image = { tag: built.tag, id: built.id, cacheHit: built.cacheHit };
        await session.provision();
      })) &&
      (await stage('restore', () => session.restore())) &&
      (await stage('probe', async () => {
        Object.assign(observations, await session.probe());
        probed = true;
      }));
    let compared = false;
    if (ok && probed) {
      compared = await stage('compare', async () => {
        for (const f of compareAll({ ...compareInput, obs: observations })) ctx.check(f);
      });
    }
    if (opts.upgradeTo !== undefined && compared && !checks.some((c) => c.status !== 'pass')) {
      await runUpgrade(opts.upgradeTo);
    }
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onOuterAbort);
    // A container the engine would not remove is said, not left in silence (the drill cannot have passed with it).
    for (const r of await Promise.allSettled(containers.map((c) => c.stop()))) {
      if (r.status === 'rejected') {
        checks.push({ id: 'cleanup.containers', stage: current, status: 'error', reason: `${errorMessage(r.reason)}; "restore-drill sweep" removes it once the engine answers` });
      }
    }
    await session.dispose?.().catch((e: unknown) => debug.drill('session dispose failed: %O', e));
    await removeWorkDir(workDir);
  }

  const finished = new Date();
  report.finishedAt = finished.toISOString();
  report.durationMs = performance.now() - t0;
  Object.assign(report, conclude(plan, checks, stages, opts.upgradeTo !== undefined));
  if (report.notes) {
    const secrets = plan.secrets?.valuesToRedact() ?? [];
    report.notes = report.notes.map((n) => redactText(n, secrets));
  }
  return report;
}

async function checkIntegrity(plan: DrillPlan, ctx: DrillContext, report: DrillReport): Promise<void> {
  const exp = plan.manifest.archive;
  const st = await stat(plan.archive);
  const sha256 = await sha256File(plan.archive);
  report.archive.sha256 = sha256;
  report.archive.sizeBytes = st.size;
  ctx.check(
    st.size === exp.sizeBytes
      ? { id: 'integrity.size', status: 'pass', reason: `${st.size} bytes as recorded`, expected: exp.sizeBytes, observed: st.size }
      : { id: 'integrity.size', status: 'fail', reason: `archive size ${st.size} bytes, manifest records ${exp.sizeBytes}`, expected: exp.sizeBytes, observed: st.size },
  );
  ctx.check(
    sha256 === exp.sha256
      ? { id: 'integrity.sha256', status: 'pass', reason: 'sha256 matches the manifest', expected: exp.sha256, observed: sha256 }
      : { id: 'integrity.sha256', status: 'fail', reason: `archive sha256 ${sha256.slice(0, 12)}… does not match the manifest's ${exp.sha256.slice(0, 12)}…: the file changed since the backup was taken`, expected: exp.sha256, observed: sha256 },
  );
}

/** The report of a drill that never started (deadline passed, or interrupted first): an error, never a pass. */
export function notStarted(plan: DrillPlan, reason: string): DrillReport {
  const now = new Date().toISOString();
  return {
    drillId: newDrillId(),
    profile: plan.profile.name,
    archive: { path: plan.archive, file: basename(plan.archive), createdAt: plan.manifest.archive.createdAt },
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
