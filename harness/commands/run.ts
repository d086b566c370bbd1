import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError, ExitCode } from '../errors.ts';
import { ensureEngine } from '../runtime/engine.ts';
import { sweep } from '../runtime/sweep.ts';
import { loadManifest, manifestPathFor } from '../manifest/load.ts';
import { SecretBag } from '../drill/secrets.ts';
import { runDrill, type DrillPlan } from '../drill/run-drill.ts';
import type { DrillReport } from '../drill/types.ts';
import { consoleFindings, consoleLine } from '../report/console.ts';
import { writeJsonReport, type RunReport } from '../report/json.ts';
import { getProfile } from '../profiles.ts';
import { TOOL_VERSION } from '../version.ts';

export interface RunOptions {
  profile: string;
  archives: string[];
  manifest?: string;
  secrets?: string;
  json?: string;
  execTimeoutMs?: number;
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
  const plans = await planDrills(opts);
  const engine = await ensureEngine({ install: true, say: opts.say });
  await sweep(engine.docker);
  const startedAt = new Date().toISOString();
  const reports: DrillReport[] = [];
  for (const plan of plans) {
    const r = await runDrill(plan, {
      engine,
      ...(opts.execTimeoutMs ? { execTimeoutMs: opts.execTimeoutMs } : {}),
      onStage: (archive, stage) => opts.say(`${archive}: ${stage}`),
    });
    reports.push(r);
    opts.out(consoleLine(r));
    for (const line of consoleFindings(r)) opts.out(line);
  }
  const status = reports.some((r) => r.verdict === 'failed') ? 'failed' : reports.some((r) => r.verdict === 'error') ? 'error' : 'passed';
  if (opts.json) {
    const report: RunReport = { tool: { name: 'restore-drill', version: TOOL_VERSION }, status, startedAt, finishedAt: new Date().toISOString(), drills: reports };
    await writeJsonReport(opts.json, report);
    opts.say(`report: ${opts.json}`);
  }
  return ExitCode[status];
}
