import { createHash } from 'node:crypto';

/**
 * How to build one image. Everything that changes the result goes into `inputs`
 * (and the Dockerfile), so the recipe hash names the image: same hash, same image.
 */
export interface ImageRecipe {
  /** Repository name under restore-drill/, e.g. "app" -> restore-drill/app. */
  name: string;
  /** The version this image runs (the application's), also the tag. */
  version: string;
  /** Dockerfile text. */
  dockerfile: string;
  /** Build arguments (not secrets: they are stored in the image). */
  buildArgs?: Record<string, string>;
  /** Other things the result depends on (pinned package specs, recipe revisions). */
  inputs?: Record<string, string>;
  /** The Debian suite of the base image (bookworm when not given); its image id is in the hash either way. */
  baseSuite?: 'bookworm' | 'trixie';
  /** Extra labels on the image. */
  labels?: Record<string, string>;
  /**
   * Fills the build context folder (already holding the Dockerfile) with what
   * COPY needs, e.g. a wheelhouse the host downloads. Runs only on a cache miss.
   */
  prepareContext?: (contextDir: string, say: (line: string) => void) => Promise<void>;
}

/** The hash of a recipe on top of a given base image id. */
export function recipeHash(recipe: ImageRecipe, baseImageId: string): string {
  const h = createHash('sha256');
  const put = (k: string, v: string) => h.update(`${k}\0${v}\0`);
  put('name', recipe.name);
  put('version', recipe.version);
  put('dockerfile', recipe.dockerfile);
  put('base', baseImageId);
  for (const [k, v] of Object.entries(recipe.buildArgs ?? {}).sort()) put(`arg:${k}`, v);
  for (const [k, v] of Object.entries(recipe.inputs ?? {}).sort()) put(`input:${k}`, v);
  return h.digest('hex');
}

export const REPO_PREFIX = 'restore-drill/';

export function imageRepo(name: string): string {
  return `${REPO_PREFIX}${name}`;
}

/** The tag that pins an exact recipe: restore-drill/NAME:VERSION-HASH12. */
export function pinnedTag(recipe: ImageRecipe, hash: string): string {
  return `${imageRepo(recipe.name)}:${recipe.version}-${hash.slice(0, 12)}`;
}

/** The friendly tag: restore-drill/NAME:VERSION. */
export function versionTag(recipe: ImageRecipe): string {
  return `${imageRepo(recipe.name)}:${recipe.version}`;
}
