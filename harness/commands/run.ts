import { dockerRuntime } from '../runtime/docker.ts';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError, ExitCode, errorMessage } from '../errors.ts';
import { ensureEngine } from '../runtime/engine.ts';
import { sweep } from '../runtime/sweep.ts';
import { loadManifestFile, manifestPathFor } from '../manifest/load.ts';
import { manifestSignatureProblem } from '../manifest/signature.ts';
import type { Manifest } from '../manifest/schema.ts';
import { SecretBag } from '../model/secrets.ts';
import { notStarted, runDrill, unprovenReport } from '../drill/run-drill.ts';
import { planCandidates, type PlanOptions } from '../drill/plan.ts';
import { runPool } from '../drill/pool.ts';
import type { DrillReport } from '../model/types.ts';
import { createReporters, envelopePath, parseReporterSpecs, type RunEndContext, type RunReport } from '../report/index.ts';
import { writeFileAtomic } from '../report/write.ts';
import { ReporterFanOut } from '../report/fan-out.ts';
import { checkOutputPath } from '../files/output-path.ts';
import { REPORT_PAYLOAD_TYPE, envelopeText, signEnvelope } from '../evidence/dsse.ts';
import { loadPrivateKey, loadPublicKey } from '../evidence/keys.ts';
import { attestationPath, signAttestations } from '../attestation/statement.ts';
import { History, historyLocation } from '../history/store.ts';
import { expandArchives } from '../select/expand.ts';
import { selectArchives, type Selection } from '../select/select.ts';
import { onInterrupt } from '../interrupt.ts';
import { getProfile } from '../profiles.ts';
import { TOOL_VERSION } from '../version.ts';
import { notifyRun, notifyTarget, type NotifyOn } from '../notify/notify.ts';
import { readSecretsFile } from '../files/secrets-file.ts';

export interface RunOptions {
  profile: string;
  /** Files, folders (the archives in them) and globs. */
  archives: string[];
  manifest?: string;
  secrets?: string;
  selection?: Selection;
  /** Drills at once (default: the machine's cores). */
  jobs?: number;
  /** Limit for one drill; it ends `error`, naming its stage. */
  timeoutMs?: number;
  /** Limit for the whole run: no drill starts after it, running ones end `error`. */
  deadlineMs?: number;
  /** Gate: upgrade each restored archive to this version and check again. */
  upgradeTo?: string;
  /** Reporter specs, NAME[=PATH]; default console. */
  reporters?: string[];
  /** Shorthand for the json reporter with this path. */
  json?: string;
  /** Ed25519 private key (PEM): sign the JSON report. */
  sign?: string;
  /** History file; false disables it. */
  history?: string | false;
  /** Accept an empty backup (no audit rows, tenants or credentials) instead of failing it. */
  acceptEmpty?: boolean;
  /** Accept counts that dropped sharply against the previous backup of the same folder. */
  acceptDrop?: boolean;
  /** Recovery-time budget (ms) where the manifest records none or a larger one. */
  rtoMs?: number;
  /** Over budget is a note, not a failure. */
  rtoWarn?: boolean;
  /** Public key (PEM): every manifest must carry a valid signature by it (<manifest>.dsse.json). */
  manifestPubkey?: string;
  execTimeoutMs?: number;
  /** Post a summary to this URL when the run ends (default: $RESTORE_DRILL_NOTIFY). */
  notify?: string;
  /** Post on a run that did not pass (default) or on every run. */
  notifyOn?: NotifyOn;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
  out: (line: string) => void;
  say: (line: string) => void;
}

/**
 * A history file the user named (--history, RESTORE_DRILL_HISTORY) must go in
 * a folder that exists: a mistyped path is refused, nothing is made where it
 * points. The default one's folder, in the state dir, is made here.
 */
function prepareHistoryFolder({ path, named }: { path: string; named: boolean }): void {
  if (!named) {
    try {
      mkdirSync(dirname(resolve(path)), { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new UsageError(`history file ${path}: its folder cannot be made (${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}); name one with --history or RESTORE_DRILL_HISTORY, or give --no-history`, 'RD_OUTPUT_PATH');
    }
  }
  checkOutputPath(path, 'history file', { createParents: false });
}

export async function runCommand(opts: RunOptions): Promise<number> {
  const env = opts.env ?? process.env;
  const now = opts.now ?? (() => new Date());
  const specs = parseReporterSpecs(opts.reporters?.length ? opts.reporters : ['console']);
  if (opts.json && !specs.some((s) => s.name === 'json')) specs.push({ name: 'json', target: opts.json });
  if (opts.sign && !specs.some((s) => s.name === 'json')) specs.push({ name: 'json' });
  const signingKey = opts.sign ? loadPrivateKey(opts.sign) : undefined;
  const notify = notifyTarget(opts.notify, opts.notifyOn, env);
  // Every place a result will be written is checked before anything starts.
  for (const s of specs) if (s.target) checkOutputPath(s.target, `${s.name} report`);
  if (signingKey) {
    checkOutputPath(envelopePath(specs.find((s) => s.name === 'json')?.target), 'signed evidence');
    checkOutputPath(attestationPath(specs.find((s) => s.name === 'json')?.target), 'signed attestations');
  }
  const historyFile = opts.history === false ? undefined : historyLocation(opts.history, env);
  if (historyFile) prepareHistoryFolder(historyFile);
  const { candidates, unproven, secrets } = await planCandidates(opts);
  for (const w of secrets?.warnings ?? []) opts.say(`warning: ${w}`);
  const history = historyFile ? History.open(historyFile.path) : undefined;
  const runStartedAt = now().toISOString();

  try {
    const lastPassed = history ? (p: string, sha256: string) => history.lastPassed(p, sha256) : undefined;
    const plans = selectArchives(candidates, opts.selection ?? {}, { now: now(), ...(lastPassed ? { lastPassed } : {}) }).map((c) => c.plan);
    if (plans.length === 0 && unproven.length === 0) throw new UsageError('the selection leaves no archive to drill', 'RD_EMPTY_SELECTION');
    const reporters = new ReporterFanOut(createReporters(specs, { env, out: opts.out, err: process.stderr }), opts.say);
    const engine = plans.length > 0 ? await ensureEngine({ say: opts.say }) : undefined;
    if (engine) for (const n of (await sweep(engine.docker)).notRemoved) opts.say(`warning: a leftover was not removed: ${n}`);

    // One signal for the whole run: SIGINT/SIGTERM or the deadline ends running
    // drills (their containers removed) and starts no new ones.
    const stop = new AbortController();
    const unregister = onInterrupt((signal) => {
      opts.say(`${signal}: stopping; no new drills, running ones end now and are removed`);
      stop.abort('interrupted');
    });
    const deadline = opts.deadlineMs ? setTimeout(() => stop.abort('deadline'), opts.deadlineMs) : undefined;
    const startedAt = now().toISOString();
    await reporters.onRunStart([...unproven.map((u) => u.archive), ...plans.map((p) => p.archive)]);
    // Archives that cannot be drilled as they are: each an `error` report, so a folder never passes around them.
    const refused = unproven.map((u) => {
      const report = unprovenReport(opts.profile, u.archive, u.reason);
      history?.record(report);
      reporters.onDrillEnd(report);
      return report;
    });
    let reports: DrillReport[];
    try {
      reports = [...refused, ...(await runPool(
        plans,
        opts.jobs ?? availableParallelism(),
        async (plan) => {
          reporters.onDrillStart(plan.archive);
          const report = await runDrill(plan, {
            runtime: dockerRuntime(engine!),
            signal: stop.signal,
            ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
            ...(opts.execTimeoutMs ? { execTimeoutMs: opts.execTimeoutMs } : {}),
            ...(opts.upgradeTo ? { upgradeTo: opts.upgradeTo } : {}),
            onStage: (archive, stage) => reporters.onStage(archive, stage),
            ...(reporters.wantsProgress ? { onProgress: (archive: string, text: string) => reporters.onProgress(archive, text) } : {}),
          });
          // The report stands whatever befalls its record (a full disk, a reporter bug).
          try {
            history?.record(report);
          } catch (e) {
            opts.say(`warning: the drill of ${plan.archive} could not be recorded in the history: ${errorMessage(e)}`);
          }
          reporters.onDrillEnd(report);
          return report;
        },
        (plan) => {
          if (!stop.signal.aborted) return undefined;
          const report = notStarted(plan, stop.signal.reason === 'deadline' ? 'the run\'s --deadline passed first' : 'the run was interrupted first');
          reporters.onDrillEnd(report);
          return report;
        },
        (plan, e) => notStarted(plan, `the harness crashed: ${errorMessage(e)}`),
      ))];
    } finally {
      clearTimeout(deadline);
      unregister();
    }

    const interrupted = stop.signal.aborted && stop.signal.reason === 'interrupted';
    const status = interrupted ? 'interrupted' : reports.some((r) => r.verdict === 'failed') ? 'failed' : reports.some((r) => r.verdict === 'error') ? 'error' : 'passed';
    const run: RunReport = { tool: { name: 'restore-drill', version: TOOL_VERSION }, status, startedAt, finishedAt: now().toISOString(), drills: reports };
    const ctx: RunEndContext = { ...(lastPassed ? { lastPassed } : {}) };
    if (signingKey) {
      const target = resolve(envelopePath(specs.find((s) => s.name === 'json')?.target));
      const envelope = signEnvelope(Buffer.from(JSON.stringify(run, null, 2)), REPORT_PAYLOAD_TYPE, signingKey);
      await writeFileAtomic(target, envelopeText(envelope));
      ctx.signature = { keyId: envelope.signatures[0]!.keyid, envelope: target };
      opts.say(`signed evidence: ${target}`);
      // The same evidence as in-toto attestations, per archive, for verifiers no one here wrote.
      const bundle = signAttestations(run, signingKey);
      if (bundle.count > 0) {
        const bundleTarget = resolve(attestationPath(specs.find((s) => s.name === 'json')?.target));
        await writeFileAtomic(bundleTarget, bundle.text);
        ctx.signature.attestations = bundleTarget;
        opts.say(`signed attestations: ${bundleTarget} (in-toto, ${bundle.count / 2} archive(s))`);
      }
    }
    // One reporter failing (a full disk, a path gone since the start) does not cost the others their report.
    const { written, lost } = await reporters.onRunEnd(run, ctx);
    // Each drill links to the report a reader would open first (history --html).
    const linked = ['html', 'json', 'junit'].map((n) => written.find((w) => w.reporter === n)).find(Boolean);
    if (history && linked) {
      try {
        history.recordReport(reports.map((r) => r.drillId), linked.path);
      } catch (e) {
        opts.say(`warning: the report of this run could not be recorded in the history: ${errorMessage(e)}`);
      }
    }
    // A run whose drills passed but whose report was lost has not proven anything to anyone: error.
    const code = lost && status === 'passed' ? ExitCode.error : ExitCode[status];
    if (notify) {
      const unwritten = lost && status === 'passed';
      await notifyRun(notify, unwritten ? { ...run, status: 'error' } : run, { say: opts.say, reports: written, ...(unwritten ? { problem: 'a report could not be written (see the console)' } : {}) });
    }
    return code;
  } catch (e) {
    // A run that could not go on (no container engine, say) is the failure a nightly notification exists for.
    if (notify && !(e instanceof UsageError)) {
      const run: RunReport = { tool: { name: 'restore-drill', version: TOOL_VERSION }, status: 'error', startedAt: runStartedAt, finishedAt: now().toISOString(), drills: [] };
      await notifyRun(notify, run, { say: opts.say, problem: errorMessage(e) });
    }
    throw e;
  } finally {
    history?.close();
  }
}
