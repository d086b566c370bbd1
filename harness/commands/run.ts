import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError, ExitCode } from '../errors.ts';
import { ensureEngine } from '../runtime/engine.ts';
import { sweep } from '../runtime/sweep.ts';
import { loadManifest, manifestPathFor } from '../manifest/load.ts';
import { SecretBag } from '../drill/secrets.ts';
import { runDrill, type DrillPlan } from '../drill/run-drill.ts';
import type { DrillReport } from '../drill/types.ts';
import { createReporters, envelopePath, parseReporterSpecs, type RunEndContext, type RunReport } from '../report/index.ts';
import { writeFileAtomic } from '../report/write.ts';
import { REPORT_PAYLOAD_TYPE, envelopeText, signEnvelope } from '../evidence/dsse.ts';
import { loadPrivateKey } from '../evidence/keys.ts';
import { History, historyPath } from '../history/store.ts';
import { getProfile } from '../profiles.ts';
import { TOOL_VERSION } from '../version.ts';

export interface RunOptions {
  profile: string;
  archives: string[];
  manifest?: string;
  secrets?: string;
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
  out: (line: string) => void;
  say: (line: string) => void;
}

/**
 * Validates every input before anything starts (a usage error starts no
 * container), then drills the archives one by one.
 */
export async function planDrills(opts: Pick<RunOptions, 'profile' | 'archives' | 'manifest' | 'secrets'>): Promise<DrillPlan[]> {
  const profile = getProfile(opts.profile);
  if (opts.archives.length === 0) throw new UsageError('no archive given', 'RD_NO_ARCHIVE');
  if (opts.manifest && opts.archives.length > 1) throw new UsageError('--manifest names the manifest of one archive; give one archive with it', 'RD_USAGE');
  const secrets = opts.secrets ? SecretBag.fromFile(opts.secrets) : undefined;
  const plans: DrillPlan[] = [];
  for (const a of opts.archives) {
    const archive = resolve(a);
    if (!existsSync(archive)) throw new UsageError(`archive ${a} does not exist`, 'RD_NO_ARCHIVE');
    if (!statSync(archive).isFile()) throw new UsageError(`archive ${a} is not a file`, 'RD_NO_ARCHIVE');
    const manifestPath = resolve(opts.manifest ?? manifestPathFor(archive));
    const manifest = await loadManifest(manifestPath);
    if (manifest.app.name !== profile.name) {
      throw new UsageError(`manifest ${manifestPath} is for ${manifest.app.name}, not the ${profile.name} profile`, 'RD_PROFILE_MISMATCH');
    }
    plans.push({ archive, manifestPath, manifest, profile, secrets });
  }
  return plans;
}

export async function runCommand(opts: RunOptions): Promise<number> {
  const env = opts.env ?? process.env;
  const specs = parseReporterSpecs(opts.reporters?.length ? opts.reporters : ['console']);
  if (opts.json && !specs.some((s) => s.name === 'json')) specs.push({ name: 'json', target: opts.json });
  if (opts.sign && !specs.some((s) => s.name === 'json')) specs.push({ name: 'json' });
  const signingKey = opts.sign ? loadPrivateKey(opts.sign) : undefined;
  const plans = await planDrills(opts);
  const reporters = createReporters(specs, { env, out: opts.out, err: process.stderr });
  const history = opts.history === false ? undefined : new History(historyPath(opts.history, env));

  try {
    const engine = await ensureEngine({ install: true, say: opts.say });
    await sweep(engine.docker);
    const startedAt = new Date().toISOString();
    const reports: DrillReport[] = [];
    for (const plan of plans) {
      for (const r of reporters) r.onDrillStart?.(plan.archive);
      const report = await runDrill(plan, {
        engine,
        ...(opts.execTimeoutMs ? { execTimeoutMs: opts.execTimeoutMs } : {}),
        onStage: (archive, stage) => {
          for (const r of reporters) r.onStage?.(archive, stage);
        },
      });
      reports.push(report);
      history?.record(report);
      for (const r of reporters) r.onDrillEnd?.(report);
    }
    const status = reports.some((r) => r.verdict === 'failed') ? 'failed' : reports.some((r) => r.verdict === 'error') ? 'error' : 'passed';
    const run: RunReport = { tool: { name: 'restore-drill', version: TOOL_VERSION }, status, startedAt, finishedAt: new Date().toISOString(), drills: reports };

    const ctx: RunEndContext = { ...(history ? { lastPassed: (p: string, a: string) => history.lastPassed(p, a) } : {}) };
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
