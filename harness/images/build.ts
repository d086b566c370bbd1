import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { EnvironmentError, errorMessage } from '../errors.ts';
import { withBuildLock } from './build-lock.ts';
import { debug } from '../log.ts';
import { IMAGE_LABEL, RECIPE_LABEL } from '../runtime/labels.ts';
import { ensureBaseImage, followProgress, imageId, type BaseImage, type BaseMode } from './base.ts';
import { pinnedTag, recipeHash, versionTag, type ImageRecipe } from './recipe.ts';

export interface BuiltImage {
  /** The pinned tag (recipe hash in it): what drills start. */
  tag: string;
  id: string;
  hash: string;
  /** True when an image of this exact recipe was already here. */
  cacheHit: boolean;
  base: BaseImage;
}

export interface EnsureImageOptions {
  baseMode?: BaseMode;
  say?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

/**
 * Returns the image for a recipe, building it only when no image of the same
 * recipe hash exists. Builds use the host's network (package downloads); the
 * containers started from the image never need one.
 */
export async function ensureImage(docker: Docker, recipe: ImageRecipe, opts: EnsureImageOptions = {}): Promise<BuiltImage> {
  const say = opts.say ?? (() => {});
  const base = await ensureBaseImage(docker, {
    mode: opts.baseMode ?? 'auto',
    say,
    ...(recipe.baseSuite ? { suite: recipe.baseSuite } : {}),
    ...(opts.env ? { env: opts.env } : {}),
  });
  const hash = recipeHash(recipe, base.id);
  const tag = pinnedTag(recipe, hash);
  return withBuildLock(tag, () => buildOnce(docker, recipe, { tag, hash, base, say }), opts.env);
}

/** Under the build lock: the cached image if a concurrent holder made it, else a build. */
async function buildOnce(docker: Docker, recipe: ImageRecipe, b: { tag: string; hash: string; base: BuiltImage['base']; say: (line: string) => void }): Promise<BuiltImage> {
  const { tag, hash, base, say } = b;
  const existing = await imageId(docker, tag);
  if (existing) {
    debug.image('cache hit: %s', tag);
    await docker.getImage(tag).tag({ repo: versionTag(recipe).split(':')[0]!, tag: recipe.version });
    return { tag, id: existing, hash, cacheHit: true, base };
  }

  say(`building ${tag}`);
  const context = mkdtempSync(join(tmpdir(), 'restore-drill-build-'));
  try {
    writeFileSync(join(context, 'Dockerfile'), recipe.dockerfile);
    await recipe.prepareContext?.(context, say);
    const stream = await docker.buildImage(
      { context, src: readdirSync(context) },
      {
        t: tag,
        networkmode: 'host',
        buildargs: { BASE: base.ref, ...recipe.buildArgs },
        labels: { [IMAGE_LABEL]: 'true', [RECIPE_LABEL]: hash, ...recipe.labels },
        rm: true,
        forcerm: true,
      },
    );
    const tail: string[] = [];
    await followProgress(docker, stream, (line) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
    }).catch((e: unknown) => {
      throw new EnvironmentError(`building ${tag} failed: ${errorMessage(e)}\n${tail.join('\n')}`, 'RD_IMAGE_BUILD');
    });
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
  const id = await imageId(docker, tag);
  if (!id) throw new EnvironmentError(`building ${tag} reported success but the image is missing`, 'RD_IMAGE_BUILD');
  await docker.getImage(tag).tag({ repo: versionTag(recipe).split(':')[0]!, tag: recipe.version });
  return { tag, id, hash, cacheHit: false, base };
}
