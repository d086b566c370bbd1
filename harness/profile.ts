import type { DrillContainer, Runtime, StartOptions } from './runtime/index.ts';
import type { BuiltImage, ImageRecipe } from './images/index.ts';
import type { Manifest } from './manifest/schema.ts';
import type { Finding, Inspected, Probed, StageObservations } from './model/types.ts';
import type { Contract } from './verdict/contract.ts';
import type { SecretBag, SecretsReading } from './model/secrets.ts';

/**
 * What an application profile provides. The harness knows containers,
 * archives, manifests and checks; a profile (scenarios/<app>/) knows how its
 * application restores and how to read what it says. `Id` is the profile's
 * check-id type: its session's `ctx.check` takes those ids (and the harness's
 * operational ones) only, so a misspelt id is a type error. `O` is its
 * observation types (StageObservations): what its session returns from each
 * stage is exactly what its contract reads, with no cast.
 */
export interface Profile<Id extends string = string, O extends StageObservations = StageObservations> {
  name: string;
  summary: string;
  /** What a manifest must carry and a drill must prove for a `passed`. */
  contract: Contract<O>;
  /**
   * How long the application's slowest command may take for this archive
   * (its restore of a large backup, say), from what the manifest records.
   * The harness never allows less than its floor; --exec-timeout overrides it.
   */
  commandTimeoutMs?(manifest: Manifest): number;
  /**
   * Reads one line the application printed while a drill runs and returns what
   * the live progress line should say (say "12000 rows restored", a migration
   * step), or nothing for a line that says no such thing. Shown on a terminal
   * only; never part of a verdict.
   */
  progress?(line: string): string | undefined;
  /** The version images are built for when no manifest names one. */
  defaultVersion: string;
  /**
   * The image recipe that runs a given application version; with the
   * manifest, the one that fits that archive (e.g. its database client).
   */
  image(version: string, manifest?: Manifest): ImageRecipe;
  /** Reads a finished backup and returns its manifest (expectations). */
  capture(input: CaptureInput): Promise<Manifest>;
  /**
   * The secrets file as the application itself reads it (see SecretsReading).
   * Where a profile has one, capture records its digest and a drill compares
   * that, before anything starts, instead of the file's bytes.
   */
  readSecrets?(secrets: SecretBag): SecretsReading;
  /** A fresh per-drill session: it holds the drill's containers across stages. */
  session(ctx: DrillContext<Id>): DrillSession<O>;
  /**
   * `restore-drill demo`: makes a sample deployment and backs it up with the
   * application's own tool; the demo command captures and drills it.
   */
  demo?(opts: DemoOptions): Promise<DemoBackup>;
  /**
   * `restore-drill backup`: makes a backup of a live system the way the
   * application does, and its manifest from the very same state.
   */
  backup?(input: BackupInput): Promise<BackupResult>;
}

export interface BackupInput {
  /** Connection to the live system (e.g. a database URL); passwords in it are never printed. */
  source: string;
  /** Where the archive goes; its manifest is written next to it. */
  output: string;
  secrets?: SecretBag;
  appVersion?: string;
  /** Container network from which the live system is reachable (for tools run in a container). */
  network?: string;
  /** Where its tools' containers run: the command's engine, found when first asked for (after the input is checked). */
  runtime: () => Promise<Runtime>;
  say: (line: string) => void;
}

export interface BackupResult {
  archive: string;
  manifest: Manifest;
}

export interface CaptureInput {
  archive: string;
  /** A secrets file the drill will need; its path is recorded, never its values. */
  secrets?: SecretBag;
  /** For archives that do not record their version. */
  appVersion?: string;
  /** Something the operator should know now, while the backup can still be taken differently. */
  warn?: (line: string) => void;
  /**
   * Where a scratch server runs for archives read on one (a database dump):
   * the command's engine, found when first asked for, so that a capture that
   * needs no container needs no engine. Without it such an archive is refused.
   */
  runtime?: () => Promise<Runtime>;
}

/**
 * One drill's stages as the profile implements them. They return what they
 * observed (of the profile's types `O`); the contract judges it, each hook in
 * the stage it concerns. `ctx.check` is for operational facts only (a data
 * dir was empty, a command completed, a file could not be read).
 */
export interface DrillSession<O extends StageObservations = StageObservations> {
  /**
   * A look inside the archive before anything starts; must not trust it. Returns what the archive says
   * about itself (DataFacts) and the profile's own reading of it, for the contract's judgeArchive.
   */
  inspect(): Promise<Inspected<O> | undefined>;
  /**
   * Starts containers (through ctx.start) with an empty data directory, checked empty. Returns what it
   * observed there (the application's version, say), judged by the contract; nothing when it stopped early.
   */
  provision(): Promise<O['provision'] | undefined | void>;
  /** The application's own restore command. */
  restore(): Promise<void>;
  /**
   * The application's own checks plus the harness's independent reading of the restored data, returned for
   * the contract (judgeRestored in this stage, compareProfile in the compare stage).
   */
  probe(): Promise<Probed<O>>;
  /**
   * Pre-upgrade gate: hand the restored data to a container of `image`
   * (application version `version`) and run that version's own upgrade path;
   * afterwards probe() checks the upgraded system.
   */
  upgrade?(image: string, version: string): Promise<void>;
  /** Releases what the session made besides containers (e.g. a private network); runs after they are removed. */
  dispose?(): Promise<void>;
}

/**
 * The check ids the harness's own helpers record for a session (requireEmptyDataDir):
 * operational facts, open to every profile's session.
 */
export const HARNESS_OPERATIONAL_CHECK = {
  dataDir: 'provision.data-dir',
  upgradeDataDir: 'upgrade.data-dir',
} as const;

export type HarnessOperationalCheckId = (typeof HARNESS_OPERATIONAL_CHECK)[keyof typeof HARNESS_OPERATIONAL_CHECK];

/** `Id`: the check ids the profile's session may record (its typed constants); the harness's operational ids are always allowed. */
export interface DrillContext<Id extends string = string> {
  drillId: string;
  /** Absolute path of the archive on the host. */
  archive: string;
  manifest: Manifest;
  secrets: SecretBag | undefined;
  /** The image (pinned tag) for the manifest's application version. */
  image: string;
  /** A host folder for this drill, removed when it ends. */
  workDir: string;
  /**
   * Aborted when the drill ends early (timeout, deadline, signal): a stage
   * still running must stop, and must not recreate the removed work folder.
   */
  signal: AbortSignal;
  /** A folder inside workDir, made now; throws once the drill has ended. */
  workSubdir(name: string): string;
  /** Limit for one command run inside a container. */
  execTimeoutMs: number;
  /** Starts a labelled container that the drill removes when it ends (on the runtime the drill was given). */
  start(opts: Omit<StartOptions, 'drillId' | 'image'> & { image?: string }): Promise<DrillContainer>;
  /** An image the drill needs besides the application's (a database server, say), built by the drill's runtime. */
  buildImage(recipe: ImageRecipe): Promise<BuiltImage>;
  /**
   * The drill's private network (internal: no route out), made on first use
   * and removed after its containers: for containers that must talk, such as
   * an application and its database server.
   */
  network(): Promise<string>;
  /**
   * Records a check in the current stage (secret values are scrubbed from it).
   * `stop`: a failing check that settles the verdict before anything is
   * started (the archive is not of the profile's kind, say): the pipeline
   * stops after the current stage, even at inspect.
   */
  check(result: Finding<Id | HarnessOperationalCheckId>, opts?: { stop?: boolean }): void;
  /** Records a note for the operator: information only, never part of the verdict (scrubbed of secrets like checks). */
  note(text: string): void;
  /**
   * The restored application has answered (its first command after the restore): the drill's recovery
   * time ends here. A probe that records no check of its own says so; a check recorded in the probe
   * stage ends it too, whichever comes first.
   */
  answered(): void;
}

export interface DemoOptions {
  outDir: string;
  /** Where the sample deployment runs: the engine the demo command found. */
  runtime: Runtime;
  say: (line: string) => void;
}

/** The sample backup a profile's demo made: the demo command captures and drills it. */
export interface DemoBackup {
  archive: string;
  secrets?: string;
  /** The application version that made it (its image must be set up first). */
  version: string;
}
