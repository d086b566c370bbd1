import { ensureEngine } from '../runtime/engine.ts';
import { ensureImage, imageId, listImages, pruneImages, recipeHash, ensureBaseImage, pinnedTag, type BaseMode } from '../images/index.ts';
import { getProfile, listProfiles } from '../profiles.ts';

export async function imagesBuild(opts: { profile?: string; version?: string[]; base?: BaseMode; say: (l: string) => void; out: (l: string) => void }): Promise<number> {
  const engine = await ensureEngine({ install: true, say: opts.say });
  const profiles = opts.profile ? [getProfile(opts.profile)] : listProfiles();
  for (const p of profiles) {
    for (const version of opts.version?.length ? opts.version : [p.defaultVersion]) {
      const img = await ensureImage(engine.docker, p.image(version), { ...(opts.base ? { baseMode: opts.base } : {}), say: opts.say });
      opts.out(`${img.tag}\t${img.cacheHit ? 'cached' : 'built'}\t${img.id.slice(7, 19)}`);
    }
  }
  return 0;
}

export async function imagesList(opts: { out: (l: string) => void }): Promise<number> {
  const engine = await ensureEngine();
  for (const img of await listImages(engine.docker)) {
    opts.out(`${img.tags.join(',') || '<untagged>'}\t${img.id.slice(7, 19)}\t${(img.sizeBytes / 1e6).toFixed(0)} MB\t${img.created.toISOString()}`);
  }
  return 0;
}

/**
 * Removes images no current recipe resolves to (older recipes of the same
 * versions, superseded bases). With --all, removes every restore-drill image.
 */
export async function imagesPrune(opts: { all?: boolean; version?: string[]; out: (l: string) => void }): Promise<number> {
  const engine = await ensureEngine();
  const keep = new Set<string>();
  if (!opts.all) {
    const base = await ensureBaseImage(engine.docker, { mode: 'auto' }).catch(() => undefined);
    if (base) {
      keep.add(base.id);
      // Keep every version an image exists for, as long as its recipe is current.
      for (const img of await listImages(engine.docker)) {
        for (const tag of img.tags) {
          const [repo, ver] = tag.split(':');
          const p = listProfiles().find((x) => repo === `restore-drill/${x.image(x.defaultVersion).name}`);
          if (!p || !ver || /-[0-9a-f]{12}$/.test(ver)) continue;
          const recipe = p.image(ver);
          const id = await imageId(engine.docker, pinnedTag(recipe, recipeHash(recipe, base.id)));
          if (id) keep.add(id);
        }
      }
    }
  }
  const r = await pruneImages(engine.docker, keep);
  for (const n of r.removed) opts.out(`removed\t${n}`);
  for (const n of r.busy) opts.out(`in use\t${n}`);
  opts.out(`${r.removed.length} removed, ${r.kept.length} kept, ${r.busy.length} in use`);
  return 0;
}
