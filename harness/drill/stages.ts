import type { DrillContext, DrillSession } from '../profile.ts';
import type { ArchiveSource } from '../sources/source.ts';
import type { DrillReport, Observations, Probed } from '../model/types.ts';
import { compareAll, compareArchiveFacts, compareIntegrity, compareSecrets, type CompareInput } from '../verdict/index.ts';
import { UsageError } from '../errors.ts';
import { receiveArchive, type FetchOutcome } from './fetch.ts';
import type { Finding } from '../model/types.ts';
import type { DrillPlan } from './plan.ts';

/**
 * The pipeline's stages, one function each: what a stage does and what it
 * returns for the report. Judgement is the verdict layer's (compare*) and the
 * profile contract's, each contract hook run in the stage it concerns; a stage
 * records their findings through ctx.check (which sets each one's `stage`)
 * and returns plain values.
 */

/** What the drill judged before anything started, so the compare stage does not judge it again. */
export interface JudgedBeforeStart {
  secrets: boolean;
  archive: boolean;
}

type Built = NonNullable<DrillReport['image']>;

function compareInput(plan: DrillPlan, judged: JudgedBeforeStart): Omit<CompareInput, 'obs'> {
  return { manifest: plan.manifest, contract: plan.profile.contract, policy: plan.policy, judgedBeforeStart: judged, ...(plan.previous ? { previous: plan.previous } : {}) };
}

/**
 * Fetch: the archive's bytes read once through its source and hashed as they
 * arrive (a remote one into the drill's work folder, checked against the
 * manifest's size and sha256 on the way, so a changed object stops here).
 */
export async function fetchStage(plan: DrillPlan, ctx: DrillContext, source: ArchiveSource): Promise<FetchOutcome> {
  const location = plan.remote?.location ?? plan.archive;
  return receiveArchive(source, location, { sha256: plan.manifest.archive.sha256, sizeBytes: plan.manifest.archive.sizeBytes }, (name) => ctx.workSubdir(name), ctx.signal);
}

/** Integrity: what arrived judged against the manifest, with the secrets file, before anything starts. */
export function integrityStage(plan: DrillPlan, ctx: DrillContext, outcome: FetchOutcome, obs: Observations): void {
  for (const f of outcome.ok ? compareIntegrity(plan.manifest, outcome.fetched) : mismatchFindings(outcome)) ctx.check(f);
  // The secrets file against the one recorded at capture, as the application reads it where the profile knows how.
  if (plan.secrets && plan.profile.readSecrets) obs.secretsRead = plan.profile.readSecrets(plan.secrets);
  for (const f of compareSecrets(plan.manifest, obs)) ctx.check(f);
}

/** A fetch stopped because the bytes differed: both integrity checks fail, the one that stopped it with what was seen. */
function mismatchFindings(outcome: Extract<FetchOutcome, { ok: false }>): Finding[] {
  const m = outcome.mismatch;
  const at = m.object.version ? ` (version ${m.object.version})` : '';
  if (m.field === 'sha256') {
    return [
      { id: 'integrity.size', status: 'pass', reason: `${outcome.bytesRead} bytes as recorded`, expected: outcome.bytesRead, observed: outcome.bytesRead },
      { id: 'integrity.sha256', status: 'fail', reason: `${m.message}${at}: the object changed since the backup was taken; nothing was started`, expected: m.expected, observed: m.observed },
    ];
  }
  return [
    { id: 'integrity.size', status: 'fail', reason: `${m.message}${at}: the object changed since the backup was taken; the fetch stopped and nothing was started`, expected: m.expected, observed: m.observed },
    { id: 'integrity.sha256', status: 'fail', reason: 'not the archive the manifest records: its size differs, so the fetch stopped before the whole object arrived' },
  ];
}

/**
 * Inspect: a look inside that trusts nothing. The contract judges what the session read in the archive in this
 * stage (the findings' stage), and what the archive says of its own version is judged now, before the
 * application could refuse it first.
 */
export async function inspectStage(plan: DrillPlan, ctx: DrillContext, session: DrillSession, obs: Observations, judged: JudgedBeforeStart): Promise<void> {
  const seen = await session.inspect();
  if (!seen) return;
  if (seen.archive) obs.archive = seen.archive;
  if (seen.inspected !== undefined) obs.inspected = seen.inspected;
  const contract = plan.profile.contract;
  for (const f of contract.judgeArchive?.(plan.manifest, seen) ?? []) ctx.check(f, { stop: contract.settledAtInspect?.includes(f.id) ?? false });
  if (seen.archive?.appVersion !== undefined) {
    judged.archive = true;
    for (const f of compareArchiveFacts(plan.manifest, seen.archive, contract)) ctx.check(f, { stop: true });
  }
}

/** Provision: the session starts its containers; what it observed there is judged by the contract, in this stage. */
export async function provisionStage(plan: DrillPlan, ctx: DrillContext, session: DrillSession, obs: Observations): Promise<void> {
  const seen = await session.provision();
  if (seen === undefined || seen === null) return;
  obs.provisioned = seen;
  for (const f of plan.profile.contract.judgeProvision?.(plan.manifest, seen) ?? []) ctx.check(f);
}

/** The image of an application version (the recorded one at provision, the target at a gate's upgrade), for the report. */
export async function imageFor(plan: DrillPlan, ctx: DrillContext, version: string): Promise<Built> {
  const built = await ctx.buildImage(plan.profile.image(version, plan.manifest));
  return { tag: built.tag, id: built.id, cacheHit: built.cacheHit };
}

/** Probe: the session reads the restored system; the contract judges what the harness read of it, in this stage. */
export async function probeStage(plan: DrillPlan, ctx: DrillContext, session: DrillSession, when: 'restore' | 'upgrade' = 'restore'): Promise<Probed> {
  const seen = await session.probe();
  for (const f of plan.profile.contract.judgeRestored?.(plan.manifest, seen, when) ?? []) ctx.check(f);
  return seen;
}

/** Compare: every observation against the manifest and the profile's contract, in the verdict layer. */
export async function compareStage(plan: DrillPlan, ctx: DrillContext, obs: Observations, judged: JudgedBeforeStart): Promise<void> {
  for (const f of compareAll({ ...compareInput(plan, judged), obs })) ctx.check(f);
}

/** Upgrade (gate): a profile that cannot upgrade restored data says so before an image is built. */
export function upgradeOf(plan: DrillPlan, session: DrillSession): NonNullable<DrillSession['upgrade']> {
  if (!session.upgrade) throw new UsageError(`the ${plan.profile.name} profile cannot upgrade restored data`, 'RD_USAGE');
  return session.upgrade.bind(session);
}

/** Post-upgrade: probed and compared again; the schema revision moves with an upgrade (the probe checks it is the target's head), all else must be what the backup held. */
export async function postUpgradeStage(plan: DrillPlan, ctx: DrillContext, session: DrillSession, obs: Observations, judged: JudgedBeforeStart): Promise<void> {
  const after = await probeStage(plan, ctx, session, 'upgrade');
  for (const f of compareAll({ ...compareInput(plan, judged), obs: { ...obs, ...after }, afterUpgrade: true })) ctx.check(f);
}
