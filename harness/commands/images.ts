import { engineAt, ensureEngine, type Engine } from '../runtime/engine.ts';
import { ensureImage, ensureWorkerImage, listImages, loadImages, pruneImages, type BaseMode } from '../images/index.ts';
import { UsageError } from '../errors.ts';
import { getProfile, listProfiles } from '../profiles.ts';

export async function imagesBuild(opts: { profile?: string; version?: string[]; base?: BaseMode; worker?: boolean; say: (l: string) => void; out: (l: string) => void }): Promise<number> {
  const engine = await ensureEngine({ install: true, say: opts.say });
  if (opts.worker) {
    const img = await ensureWorkerImage(engine.docker, { ...(opts.base ? { baseMode: opts.base } : {}), say: opts.say });
    opts.out(`${img.tag}\t${img.cacheHit ? 'cached' : 'built'}\t${img.id.slice(7, 19)}`);
    // --worker alone builds only the worker; with --profile or --app-version, those too.
    if (!opts.profile && !opts.version?.length) return 0;
  }
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

export interface ImagesLoadOptions {
  /** Engine addresses to make the images present on (unix://, tcp://, ssh://). */
  to: string[];
  /** The engine that has the images (default: this host's, found as every command finds it). */
  from?: string;
  /** Images by reference. */
  refs?: string[];
  /** A profile's images (and their base) for these versions, built on the source engine when missing. */
  profile?: string;
  version?: string[];
  /** restore-drill's own worker image (built on the source engine when missing). */
  worker?: boolean;
  /** A registry the user runs: push once, pull by digest on every target. */
  registry?: string;
  base?: BaseMode;
  say: (l: string) => void;
  out: (l: string) => void;
}

/**
 * Makes images present on other engines (fleet nodes) with the ids they have
 * here: one line per image and engine, "present" (already there), "loaded"
 * (save into load) or "pulled" (through --registry).
 */
export async function imagesLoad(opts: ImagesLoadOptions): Promise<number> {
  if (opts.to.length === 0) throw new UsageError('images load needs --to ENGINE (one or more engine addresses)', 'RD_USAGE');
  if (!opts.refs?.length && !opts.profile && !opts.version?.length && !opts.worker) {
    throw new UsageError('images load needs images: name them (REF...), or give --profile/--app-version, or --worker', 'RD_USAGE');
  }
  const targets = await Promise.all(opts.to.map(engineAt));
  const source: Engine = opts.from ? await engineAt(opts.from) : await ensureEngine();
  const built = { ...(opts.base ? { baseMode: opts.base } : {}), say: opts.say };
  const refs = [...(opts.refs ?? [])];
  if (opts.worker) refs.push((await ensureWorkerImage(source.docker, built)).tag);
  if (opts.profile || opts.version?.length) {
    const profiles = opts.profile ? [getProfile(opts.profile)] : listProfiles();
    for (const p of profiles) {
      for (const version of opts.version?.length ? opts.version : [p.defaultVersion]) {
        const img = await ensureImage(source.docker, p.image(version), built);
        // The base too: a worker told only "present" names the image by a hash computed on the base's id.
        refs.push(img.tag, img.base.ref);
      }
    }
  }
  const loaded = await loadImages(
    source.docker,
    targets.map((t) => ({ docker: t.docker, name: t.endpoint })),
    refs,
    { ...(opts.registry ? { registry: opts.registry } : {}), say: opts.say },
  );
  for (const l of loaded) opts.out(`${l.action}\t${l.ref}\t${l.target}\t${l.id.slice(7, 19)}`);
  return 0;
}
