import { hostname } from 'node:os';
import type Docker from 'dockerode';
import { z } from 'zod';
import { EnvironmentError, UsageError } from '../errors.ts';
import { imageId, localBaseTag, type BaseImage } from './base.ts';
import { ensureImage, type BuiltImage, type EnsureImageOptions } from './build.ts';
import { imageRepo, pinnedTag, recipeHash, type ImageRecipe } from './recipe.ts';
import { RECIPE_LABEL } from '../runtime/labels.ts';

/**
 * Where images come from on a fleet node: a worker there finds the images the
 * submitter made present (loaded through the node's engine, or pulled from the
 * user's registry) and never builds one. A node is no build host (no
 * wheelhouse, often no network), and an image built there would be another
 * image than the one the submitter checked: so a missing image, or one whose id
 * differs from the submitter's, makes the drill an `error` that names the image,
 * the node and how to make it present.
 *
 * RESTORE_DRILL_IMAGES=present selects this (the worker image sets it);
 * RESTORE_DRILL_IMAGE_IDS holds the submitter's expectations, a JSON object of
 * tag -> image id (the base image included: the recipe hash, and so the tag, is
 * computed on top of its id, so the base itself need not be on the node).
 */

export type PresentPolicy = { mode: 'present'; ids?: Record<string, string>; node: string };
export type ImagePolicy = { mode: 'build' } | PresentPolicy;

const IdsSchema = z.record(z.string().regex(/^[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9._-]+$/), z.string().regex(/^sha256:[0-9a-f]{64}$/));

/** The policy the environment asks for (the worker's options fall back to it). */
export function imagePolicy(env: NodeJS.ProcessEnv = process.env, given?: { present?: boolean; ids?: Record<string, string> }): ImagePolicy {
  const mode = env.RESTORE_DRILL_IMAGES;
  if (mode !== undefined && mode !== '' && mode !== 'present' && mode !== 'build') {
    throw new UsageError(`RESTORE_DRILL_IMAGES=${mode}: write "present" (images must be on this node, never built) or "build"`, 'RD_USAGE');
  }
  const present = given?.present ?? mode === 'present';
  if (!present) return { mode: 'build' };
  let ids = given?.ids;
  if (!ids && env.RESTORE_DRILL_IMAGE_IDS) {
    let raw: unknown;
    try {
      raw = JSON.parse(env.RESTORE_DRILL_IMAGE_IDS);
    } catch {
      throw new UsageError('RESTORE_DRILL_IMAGE_IDS is not JSON: write an object of image tag -> image id (sha256:...)', 'RD_USAGE');
    }
    const parsed = IdsSchema.safeParse(raw);
    if (!parsed.success) throw new UsageError(`RESTORE_DRILL_IMAGE_IDS is not an object of image tag -> image id (sha256:<64 hex>): ${parsed.error.issues[0]?.message ?? ''}`, 'RD_USAGE');
    ids = parsed.data;
  }
  return { mode: 'present', ...(ids ? { ids } : {}), node: env.RESTORE_DRILL_NODE || hostname() };
}

/** The remedy a message gives: load the image through this node's engine, or pull it from the user's registry. */
function howToLoad(tag: string, node: string, endpoint: string): string {
  return `load it with "restore-drill images load ${tag} --to ENGINE" run where the image is, ENGINE being node ${node}'s engine address (this worker reaches it as ${endpoint}), or add --registry REGISTRY to pull it from yours`;
}

/** The base id the recipe hash is computed on: the submitter's expectation, else the base on this node. */
async function baseFor(docker: Docker, recipe: ImageRecipe, policy: PresentPolicy, endpoint: string): Promise<BaseImage> {
  const tag = localBaseTag(recipe.baseSuite);
  // The submitter's base: built here by debootstrap, or Debian's slim image where it had that.
  for (const ref of [tag, `debian:${recipe.baseSuite ?? 'bookworm'}-slim`]) {
    const expected = policy.ids?.[ref];
    if (expected) return { ref, id: expected, source: `${ref} (the submitter's)`, built: false };
  }
  const here = await imageId(docker, tag);
  if (here && !policy.ids) return { ref: tag, id: here, source: `${tag} (present on ${policy.node})`, built: false };
  throw new EnvironmentError(
    policy.ids
      ? `images must be present on node ${policy.node} and never built, but the submitter's image ids (RESTORE_DRILL_IMAGE_IDS) name no base image ${tag} that ${recipe.name} ${recipe.version} is built on`
      : `the base image ${tag} is not on node ${policy.node} (engine ${endpoint}), so the image ${recipe.name} ${recipe.version} built on it cannot be named; this worker never builds images: ${howToLoad(tag, policy.node, endpoint)}`,
    'RD_IMAGE_MISSING',
  );
}

/**
 * The tag the submitter made present for this recipe: one of its ids of this
 * image name and version. The submitter's recipe decides, not one computed
 * here: inputs that live on the submitting host (a binary the user supplied
 * there, say) are not on the node, and would name another image here. Where
 * several of that name and version are expected, the one this recipe names on
 * the submitter's base is taken.
 */
async function expectedTag(docker: Docker, recipe: ImageRecipe, policy: PresentPolicy & { ids: Record<string, string> }, endpoint: string): Promise<string> {
  const prefix = `${imageRepo(recipe.name)}:${recipe.version}-`;
  const candidates = Object.keys(policy.ids).filter((k) => k.startsWith(prefix) && /^[0-9a-f]{12}$/.test(k.slice(prefix.length)));
  if (candidates.length === 1) return candidates[0]!;
  const computed = candidates.length ? pinnedTag(recipe, recipeHash(recipe, (await baseFor(docker, recipe, policy, endpoint)).id)) : `${prefix}<hash>`;
  if (candidates.includes(computed)) return computed;
  throw new EnvironmentError(
    `the image ${computed} is not among the images the submitter made present (RESTORE_DRILL_IMAGE_IDS) for node ${policy.node}; this worker never builds images: have the submitter build and load it (${howToLoad(`${imageRepo(recipe.name)}:${recipe.version}-<hash>`, policy.node, endpoint)})`,
    'RD_IMAGE_MISSING',
  );
}

/** The image a recipe names, found on this node with the expected id; never built. */
export async function presentImage(docker: Docker, recipe: ImageRecipe, policy: PresentPolicy, endpoint: string): Promise<BuiltImage> {
  const ids = policy.ids;
  let tag: string;
  let base: BaseImage;
  if (ids) {
    tag = await expectedTag(docker, recipe, { ...policy, ids }, endpoint);
    base = { ref: '', id: '', source: "the submitter's (not needed on the node)", built: false };
  } else {
    base = await baseFor(docker, recipe, policy, endpoint);
    tag = pinnedTag(recipe, recipeHash(recipe, base.id));
  }
  const expected = ids?.[tag];
  const image = await docker.getImage(tag).inspect().catch(() => undefined);
  if (!image) {
    throw new EnvironmentError(`the image ${tag} is not present on node ${policy.node} (engine ${endpoint}) and this worker never builds images: ${howToLoad(tag, policy.node, endpoint)}`, 'RD_IMAGE_MISSING');
  }
  if (expected && image.Id !== expected) {
    throw new EnvironmentError(`the image ${tag} on node ${policy.node} is ${image.Id}, not ${expected} as the submitter expects; this worker never builds images: ${howToLoad(tag, policy.node, endpoint)}`, 'RD_IMAGE_MISSING');
  }
  const hash = image.Config?.Labels?.[RECIPE_LABEL] ?? tag.slice(tag.lastIndexOf('-') + 1);
  return { tag, id: image.Id, hash, cacheHit: true, base };
}

/**
 * What a submitter hands its workers as RESTORE_DRILL_IMAGE_IDS: for each recipe,
 * its pinned tag and id and its base's, as they are on the submitter's engine
 * (built there when missing: the submitter is the one host that builds).
 */
export async function expectedImageIds(docker: Docker, recipes: ImageRecipe[], opts: EnsureImageOptions = {}): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const r of recipes) {
    const img = await ensureImage(docker, r, opts);
    ids[img.tag] = img.id;
    ids[img.base.ref] = img.base.id;
  }
  return ids;
}
