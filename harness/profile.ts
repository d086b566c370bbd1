import type { DrillContainer, StartOptions } from './runtime/index.ts';
import type { ImageRecipe } from './images/index.ts';
import type { Manifest } from './manifest/schema.ts';
import type { CheckResult, Observations } from './drill/types.ts';
import type { SecretBag } from './drill/secrets.ts';

/**
 * What an application profile provides. The harness knows containers,
 * archives, manifests and checks; a profile (scenarios/<app>/) knows how its
 * application restores and how to read what it says.
 */
export interface Profile {
  name: string;
  summary: string;
  /** The version images are built for when no manifest names one. */
  defaultVersion: string;
  /** The image recipe that runs a given application version. */
  image(version: string): ImageRecipe;
  /** Reads a finished backup and returns its manifest (expectations). */
  capture(input: CaptureInput): Promise<Manifest>;
  /** A fresh per-drill session: it holds the drill's containers across stages. */
  session(ctx: DrillContext): DrillSession;
  /** `restore-drill demo`: a sample deployment, backed up and drilled. */
  demo?(opts: DemoOptions): Promise<number>;
}

export interface CaptureInput {
  archive: string;
  /** A secrets file the drill will need; its path is recorded, never its values. */
  secrets?: SecretBag;
  /** For archives that do not record their version. */
  appVersion?: string;
}

/** One drill's stages as the profile implements them; each records checks on the context. */
export interface DrillSession {
  /** A look inside the archive before anything starts; must not trust it. */
  inspect(): Promise<void>;
  /** Starts containers (through ctx.start) with an empty data directory, checked empty. */
  provision(): Promise<void>;
  /** The application's own restore command. */
  restore(): Promise<void>;
  /** The application's own checks plus the harness's independent ones. */
  probe(): Promise<Observations>;
}

export interface DrillContext {
  drillId: string;
  /** Absolute path of the archive on the host. */
  archive: string;
  manifest: Manifest;
  secrets: SecretBag | undefined;
  /** The image (pinned tag) for the manifest's application version. */
  image: string;
  /** A host folder for this drill, removed when it ends. */
  workDir: string;
  /** Limit for one command run inside a container. */
  execTimeoutMs: number;
  /** Starts a labelled container that the drill removes when it ends. */
  start(opts: Omit<StartOptions, 'drillId' | 'image'> & { image?: string }): Promise<DrillContainer>;
  /** Records a check in the current stage (secret values are scrubbed from it). */
  check(result: Omit<CheckResult, 'stage'>): void;
}

export interface DemoOptions {
  outDir: string;
  say: (line: string) => void;
}
