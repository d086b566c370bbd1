import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { UsageError, ExitCode } from '../errors.ts';
import { ensureEngine } from '../runtime/engine.ts';
import { sweep } from '../runtime/sweep.ts';
import { loadManifest, manifestPathFor } from '../manifest/load.ts';
import { SecretBag } from '../drill/secrets.ts';
import { notStarted, runDrill, type DrillPlan } from '../drill/run-drill.ts';
import { runPool } from '../drill/pool.ts';
import type { DrillReport } from '../drill/types.ts';
import { createReporters, envelopePath, parseReporterSpecs, type RunEndContext, type RunReport } from '../report/index.ts';
import { writeFileAtomic } from '../report/write.ts';
import { REPORT_PAYLOAD_TYPE, envelopeText, signEnvelope } from '../evidence/dsse.ts';
import { loadPrivateKey } from '../evidence/keys.ts';
import { History, historyPath } from '../history/store.ts';
import { expandArchives } from '../select/expand.ts';
import { selectArchives, type Selection } from '../select/select.ts';
import { onInterrupt } from '../interrupt.ts';
import { getProfile } from '../profiles.ts';
import { TOOL_VERSION } from '../version.ts';

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
  execTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
  out: (line: string) => void;
  say: (line: string) => void;
}

/**
 * Validates every input before anything starts (a usage error starts no
 * container): each archive exists and has a valid manifest for this profile.
 */
export async function planDrills(opts: Pick<RunOptions, 'profile' | 'archives' | 'manifest' | 'secrets'>): Promise<DrillPlan[]> {
  return (await planCandidates(opts)).map((c) => c.plan);
}

async function planCandidates(opts: Pick<RunOptions, 'profile' | 'archives' | 'manifest' | 'secrets'>): Promise<Array<{ plan: DrillPlan; folder: string }>> {
  const profile = getProfile(opts.profile);
  if (opts.archives.length === 0) throw new UsageError('no archive given', 'RD_NO_ARCHIVE');
  const found = expandArchives(opts.archives);
  if (opts.manifest && found.length > 1) throw new UsageError('--manifest names the manifest of one archive; give one archive with it', 'RD_USAGE');
  const secrets = opts.secrets ? SecretBag.fromFile(opts.secrets) : undefined;
  const out: Array<{ plan: DrillPlan; folder: string }> = [];
  for (const { path: archive, folder } of found) {
    if (!existsSync(archive)) throw new UsageError(`archive ${archive} does not exist`, 'RD_NO_ARCHIVE');
    if (!statSync(archive).isFile()) throw new UsageError(`archive ${archive} is not a file`, 'RD_NO_ARCHIVE');
    const manifestPath = resolve(opts.manifest ?? manifestPathFor(archive));
    const manifest = await loadManifest(manifestPath);
    if (manifest.app.name !== profile.name) {
      throw new UsageError(`manifest ${manifestPath} is for ${manifest.app.name}, not the ${profile.name} profile`, 'RD_PROFILE_MISMATCH');
    }
    out.push({ plan: { archive, manifestPath, manifest, profile, secrets }, folder });
  }
  return out;
}

export async function runCommand(opts: RunOptions): Promise<number> {
  const env = opts.env ?? process.env;
  const now = opts.now ?? (() => new Date());
  const specs = parseReporterSpecs(opts.reporters?.length ? opts.reporters : ['console']);
  if (opts.json && !specs.some((s) => s.name === 'json')) specs.push({ name: 'json', target: opts.json });
  if (opts.sign && !specs.some((s) => s.name === 'json')) specs.push({ name: 'json' });
  const signingKey = opts.sign ? loadPrivateKey(opts.sign) : undefined;
  const candidates = await planCandidates(opts);
  const history = opts.history === false ? undefined : new History(historyPath(opts.history, env));

  try {
    const lastPassed = history ? (p: string, a: string) => history.lastPassed(p, a) : undefined;
    const plans = selectArchives(candidates, opts.selection ?? {}, { now: now(), ...(lastPassed ? { lastPassed } : {}) }).map((c) => c.plan);
    if (plans.length === 0) {
      opts.say('the selection leaves no archive to drill');
      return ExitCode.passed;
    }
    const reporters = createReporters(specs, { env, out: opts.out, err: process.stderr });
    const engine = await ensureEngine({ install: true, say: opts.say });
    await sweep(engine.docker);

    // One signal for the whole run: SIGINT/SIGTERM or the deadline ends running
    // drills (their containers removed) and starts no new ones.
    const stop = new AbortController();
    const unregister = onInterrupt((signal) => {
      opts.say(`${signal}: stopping; no new drills, running ones end now and are removed`);
      stop.abort('interrupted');
    });
    const deadline = opts.deadlineMs ? setTimeout(() => stop.abort('deadline'), opts.deadlineMs) : undefined;
    const startedAt = now().toISOString();
    for (const r of reporters) r.onRunStart?.(plans.map((p) => p.archive));
    let reports: DrillReport[];
    try {
      reports = await runPool(
        plans,
        opts.jobs ?? availableParallelism(),
        async (plan) => {
          for (const r of reporters) r.onDrillStart?.(plan.archive);
          const report = await runDrill(plan, {
            engine,
            signal: stop.signal,
            ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
            ...(opts.execTimeoutMs ? { execTimeoutMs: opts.execTimeoutMs } : {}),
            ...(opts.upgradeTo ? { upgradeTo: opts.upgradeTo } : {}),
            onStage: (archive, stage) => {
              for (const r of reporters) r.onStage?.(archive, stage);
            },
          });
          history?.record(report);
          for (const r of reporters) r.onDrillEnd?.(report);
          return report;
        },
        (plan) => {
          if (!stop.signal.aborted) return undefined;
          const report = notStarted(plan, stop.signal.reason === 'deadline' ? 'the run\'s --deadline passed first' : 'the run was interrupted first');
          for (const r of reporters) r.onDrillEnd?.(report);
          return report;
        },
      );
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
    }
    for (const r of reporters) {
      const wrote = await r.onRunEnd?.(run, ctx);
      if (wrote) opts.say(`${r.name} report: ${wrote}`);
    }
    return ExitCode[status];
  } finally {
    history?.close();
  }
}
