import { ensureEngine } from '../runtime/engine.ts';
import { ensureImage, listImages, pruneImages, type BaseMode } from '../images/index.ts';
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
 * Removes superseded images: each build tags its image NAME:VERSION as well as
 * NAME:VERSION-HASH, so an image that lost its VERSION tag to a newer build of
 * the same version (a changed recipe) is no longer what drills use. With --all,
 * removes every restore-drill image. Images still in use are reported, not forced.
 */
export async function imagesPrune(opts: { all?: boolean; out: (l: string) => void }): Promise<number> {
  const engine = await ensureEngine();
  const keep = new Set<string>();
  if (!opts.all) {
    for (const img of await listImages(engine.docker)) {
      const current = img.tags.some((t) => {
        const version = t.slice(t.lastIndexOf(':') + 1);
        return !/-[0-9a-f]{12}$/.test(version) || t.startsWith('restore-drill/base:');
      });
      if (current) keep.add(img.id);
    }
  }
  const r = await pruneImages(engine.docker, keep);
  for (const n of r.removed) opts.out(`removed\t${n}`);
  for (const n of r.busy) opts.out(`in use\t${n}`);
  opts.out(`${r.removed.length} removed, ${r.kept.length} kept, ${r.busy.length} in use`);
  return 0;
}
