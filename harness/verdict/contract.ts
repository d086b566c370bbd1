import type { Manifest } from '../manifest/schema.ts';
import type { Finding, Inspected, Observations, Probed, StageObservations } from '../model/types.ts';

/**
 * What a profile promises a `passed` rests on. The harness holds every drill to
 * it: a manifest that lacks a required expectation is refused at plan time, and
 * a drill in which a required check did not run (or did not pass) is never
 * `passed`. Without it, a drill passes when nothing *found* a failure, and what
 * runs would depend on what the manifest happens to contain.
 *
 * `O`: the profile's observation types (StageObservations), what its session
 * returns from each stage; the hooks read them without a cast. Every judgement
 * of an observation is here, never in the session. Each hook runs in the
 * stage it concerns, and the harness records its findings there (their
 * `stage` field): judgeArchive at inspect, judgeProvision at provision,
 * judgeRestored at probe, compareProfile in the compare stage. A new check is
 * one typed constant (scenarios/<app>/check-ids.ts) and one entry here.
 */
export interface Contract<O extends StageObservations = StageObservations> {
  /** Plan time: each problem names the manifest field it is about ("$.expectations.chain: ..."). */
  manifestProblems(manifest: Manifest): string[];
  /** The check ids a `passed` drill of this manifest must hold, each passing at least once. */
  requiredChecks(manifest: Manifest): string[];
  /** Checks a gate's post-upgrade stage must also hold (the harness adds its own: every count, fingerprint and chain property again). */
  requiredAfterUpgrade?(manifest: Manifest): string[];
  /** The archive records its own application version: it must then equal the manifest's. */
  archiveRecordsVersion: boolean;
  /** Why this backup counts as empty (empty when it is not); judged by the emptiness policy. */
  emptiness(manifest: Manifest): string[];
  /**
   * Inspect stage: what the session read in the archive (the harness's DataFacts, the profile's own reading)
   * against the manifest, before anything starts: a backup that cannot match its manifest is named before a
   * server runs. Findings here do not stop the drill (the application's own restore still gets its say).
   */
  judgeArchive?(manifest: Manifest, seen: Inspected<O>): Finding[];
  /**
   * The exception: ids among judgeArchive's findings that settle the verdict when they fail (the archive is
   * not of the profile's kind at all, say): the pipeline stops after inspect, nothing is started.
   */
  settledAtInspect?: readonly string[];
  /**
   * What the session observed while provisioning (its type is the profile's: the application's own
   * version, say) against the manifest, judged in the provision stage: a finding that is not a pass
   * there stops the pipeline, as any failed provision does.
   */
  judgeProvision?(manifest: Manifest, seen: NonNullable<O['provision']>): Finding[];
  /**
   * Probe stage: what the session read of the restored data (at rest, by the harness itself) judged as
   * soon as it was read, in the probe stage (`when`: after the restore, or after a gate's upgrade). What
   * the application itself said is compared with the manifest in compareProfile.
   */
  judgeRestored?(manifest: Manifest, seen: Probed<O>, when: 'restore' | 'upgrade'): Finding[];
  /** The profile's own observations (what the application said, and its own readings) against the manifest. */
  compareProfile(manifest: Manifest, obs: Observations<O>, when: 'restore' | 'upgrade'): Finding[];
}

/** Which empty or shrunken backups a drill accepts; by default none. */
export interface Policy {
  /** An empty instance is what this backup should hold (a fresh install, a test system). */
  acceptEmpty: boolean;
  /** Counts may drop sharply against the previous manifest of the same folder (a planned clean-up). */
  acceptDrop: boolean;
}

/** A count that falls below this share of the previous backup's is a sharp drop. */
export const SHARP_DROP_RATIO = 0.5;
/** Counts smaller than this in the previous backup are not judged for drops (noise). */
export const SHARP_DROP_MIN_PREVIOUS = 10;

/** The check ids every drill must hold, whatever the profile. */
export const HARNESS_REQUIRED_CHECKS = ['integrity.size', 'integrity.sha256', 'compare.policy.empty'] as const;
