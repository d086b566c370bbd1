import type { BuiltImage, ImageRecipe } from '../images/index.ts';
import type { DrillContainer, StartOptions } from './container.ts';

/** A network only a drill's own containers share, with no route out. */
export interface PrivateNetwork {
  name: string;
  remove(): Promise<void>;
}

/**
 * Where a drill's containers run: one Docker engine today (docker.ts), other
 * engines or a cluster as further implementations. The drill is given one and
 * reaches the engine only through it; no stage, session or profile finds an
 * engine of its own.
 */
export interface Runtime {
  /** Where it runs, for messages ("/var/run/docker.sock", "DOCKER_HOST=..."). */
  readonly endpoint: string;
  /** The image a recipe describes, built here (or found cached by its recipe's hash). */
  image(recipe: ImageRecipe): Promise<BuiltImage>;
  /** A fresh labelled container; network "none" unless one is named. */
  start(opts: StartOptions): Promise<DrillContainer>;
  /** An internal network labelled for the drill, for containers that must talk (an application and its database server). */
  privateNetwork(drillId: string): Promise<PrivateNetwork>;
}
