import type { Manifest } from '../manifest/schema.ts';
import { redactCheck, redactText, type SecretBag } from '../model/secrets.ts';
import type { CheckResult, DrillReport, StageName, StageTiming, Verdict } from '../model/types.ts';
import { HARNESS_REQUIRED_CHECKS, type Contract } from './contract.ts';
import { requiredCheckProblems } from './required.ts';

/** What a verdict is judged against: the profile's contract, the manifest, and the secrets whose values are scrubbed afterwards. */
export interface Judged {
  profile: { contract: Contract };
  manifest: Manifest;
  secrets: SecretBag | undefined;
}

/**
 * The verdict, decided on the checks as found; only then are secret values
 * scrubbed from what people read (reasons, expected and observed values), so
 * no secret's value can change a verdict.
 */
export function conclude(plan: Judged, checks: CheckResult[], stages: StageTiming[], gate: boolean): Pick<DrillReport, 'verdict' | 'summary' | 'checks'> {
  const [verdict, summary] = decide(checks, stages, requiredChecks(plan, gate), gate);
  const secrets = plan.secrets?.valuesToRedact() ?? [];
  return { verdict, summary: redactText(summary, secrets), checks: checks.map((c) => redactCheck(c, secrets)) };
}

/** Every check id a `passed` must hold: the harness's own and the profile's contract (again after a gate's upgrade). */
export function requiredChecks(plan: Pick<Judged, 'profile' | 'manifest'>, gate: boolean): string[] {
  const own = [...HARNESS_REQUIRED_CHECKS, ...plan.profile.contract.requiredChecks(plan.manifest)];
  if (!gate) return own;
  // After the upgrade the restored data is compared again (ids upgrade.*): every
  // count, fingerprint and chain property, and what the profile says must hold then.
  const again = own.filter((id) => /^compare\.(count|fingerprint|chain)\./.test(id)).map((id) => id.replace(/^compare\./, 'upgrade.'));
  return [...own, ...again, ...(plan.profile.contract.requiredAfterUpgrade?.(plan.manifest) ?? [])];
}

/**
 * Fail-closed: a failing check fails the drill; any error, a stage that never
 * ran, or a required check that did not run and pass is an error. `passed`
 * means every required check ran and passed, and nothing else objected.
 */
export function decide(checks: CheckResult[], stages: StageTiming[], required: readonly string[], gate = false): [Verdict, string] {
  const fails = checks.filter((c) => c.status === 'fail');
  if (fails.length > 0) return ['failed', `${fails[0]!.stage}: ${fails[0]!.reason}${fails.length > 1 ? ` (+${fails.length - 1} more)` : ''}`];
  const errors = checks.filter((c) => c.status === 'error');
  if (errors.length > 0) return ['error', `${errors[0]!.stage}: ${errors[0]!.reason}`];
  const ran = new Set(stages.map((s) => s.name));
  const stagesRequired: StageName[] = ['fetch', 'integrity', 'inspect', 'provision', 'restore', 'probe', 'compare', ...(gate ? (['upgrade', 'post-upgrade'] as const) : [])];
  const missing = stagesRequired.filter((s) => !ran.has(s));
  if (missing.length > 0) return ['error', `stages not run: ${missing.join(', ')}`];
  if (checks.length === 0) return ['error', 'no check ran'];
  const notRun = requiredCheckProblems(checks, required);
  if (notRun.length > 0) return ['error', `required check${notRun.length === 1 ? '' : 's'} did not run: ${notRun.slice(0, 5).join(', ')}${notRun.length > 5 ? ` (+${notRun.length - 5} more)` : ''}`];
  return ['passed', `${checks.length} checks passed, ${required.length} of them required`];
}

