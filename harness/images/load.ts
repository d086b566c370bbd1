import type Docker from 'dockerode';
import { EnvironmentError, UsageError, errorMessage } from '../errors.ts';
import { followProgress, imageId } from './base.ts';

/**
 * Makes images present on other engines (the nodes of a fleet) without a
 * registry: `docker save` on the engine that has them streamed straight into
 * each target's `docker load`, nothing written to disk between. Only images
 * whose id differs on a target are sent, and afterwards each target's id must
 * equal the source's: an image id is the digest of the image's configuration,
 * which names every layer by digest, so equal ids are equal images.
 *
 * With a registry (one the user runs), the source pushes each image once and
 * every target pulls it by its manifest digest, then tags it with its own name;
 * the id check afterwards is the same.
 */

/** An engine to make images present on, with the name messages give it (its address, or a node). */
export interface ImageTarget {
  docker: Docker;
  name: string;
}

export interface LoadedImage {
  ref: string;
  target: string;
  /** The image id on the target, equal to the source's. */
  id: string;
  /** present: it was there already with this id; loaded: sent by save/load; pulled: through the registry. */
  action: 'present' | 'loaded' | 'pulled';
}

export interface LoadOptions {
  /** A registry host[:port][/path] the user runs: push once, pull by digest on each target. */
  registry?: string;
  say?: (line: string) => void;
}

function asTarget(t: Docker | ImageTarget, i: number): ImageTarget {
  return 'docker' in t && 'name' in t ? t : { docker: t as Docker, name: `engine ${i + 1}` };
}

/** Each ref's id on the source; a ref the source lacks is an error (nothing is built here). */
async function sourceIds(from: Docker, refs: string[]): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const ref of refs) {
    const id = await imageId(from, ref);
    if (!id) throw new EnvironmentError(`the image ${ref} is not on the engine images are copied from: build it there first (restore-drill images build, or setup --worker for the worker image)`, 'RD_IMAGE_LOAD');
    ids.set(ref, id);
  }
  return ids;
}

/** Which refs a target lacks or holds as another image. */
async function missingOn(target: ImageTarget, ids: Map<string, string>): Promise<string[]> {
  const out: string[] = [];
  for (const [ref, id] of ids) if ((await imageId(target.docker, ref)) !== id) out.push(ref);
  return out;
}

async function checkIds(target: ImageTarget, ids: Map<string, string>, refs: string[], how: string): Promise<void> {
  for (const ref of refs) {
    const got = await imageId(target.docker, ref);
    if (got !== ids.get(ref)) {
      throw new EnvironmentError(`after ${how}, ${ref} on ${target.name} is ${got ?? 'missing'}, not ${ids.get(ref)} as on the source`, 'RD_IMAGE_LOAD');
    }
  }
}

/** One `save` of the refs a target needs (shared layers travel once), streamed into its `load`. */
async function saveInto(from: Docker, target: ImageTarget, refs: string[]): Promise<void> {
  // GET /images/get?names=...: dockerode has it, its typings do not.
  const getImages = (from as unknown as { getImages(opts: { names: string[] }): Promise<NodeJS.ReadableStream> }).getImages;
  const tar = await getImages.call(from, { names: refs });
  try {
    const answer = await target.docker.loadImage(tar, { quiet: true });
    await followProgress(target.docker, answer);
  } catch (e) {
    (tar as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
    throw new EnvironmentError(`loading ${refs.join(', ')} into ${target.name} failed: ${errorMessage(e)}`, 'RD_IMAGE_LOAD');
  }
}

/** `registry/name:tag` for a local ref `name:tag` (the registry's copy of it). */
export function registryRef(registry: string, ref: string): string {
  if (!/^[A-Za-z0-9.-]+(:\d+)?(\/[a-z0-9._/-]+)?$/.test(registry)) {
    throw new UsageError(`--registry "${registry}" is not HOST[:PORT][/PATH]`, 'RD_USAGE');
  }
  return `${registry.replace(/\/$/, '')}/${ref}`;
}

function splitRef(ref: string): { repo: string; tag: string } {
  const at = ref.lastIndexOf(':');
  return at > ref.lastIndexOf('/') ? { repo: ref.slice(0, at), tag: ref.slice(at + 1) } : { repo: ref, tag: 'latest' };
}

/** Pushes each ref to the registry; returns the digest reference (`registry/name@sha256:...`) each target pulls. */
async function pushAll(from: Docker, refs: string[], registry: string, say: (l: string) => void): Promise<Map<string, string>> {
  const byDigest = new Map<string, string>();
  for (const ref of refs) {
    const remote = splitRef(registryRef(registry, ref));
    await from.getImage(ref).tag({ repo: remote.repo, tag: remote.tag });
    say(`pushing ${ref} to ${registry}`);
    try {
      await followProgress(from, await from.getImage(`${remote.repo}:${remote.tag}`).push({ tag: remote.tag }));
    } catch (e) {
      throw new EnvironmentError(`pushing ${ref} to ${registry} failed: ${errorMessage(e)}`, 'RD_IMAGE_LOAD');
    }
    const digests = ((await from.getImage(ref).inspect()).RepoDigests ?? []).filter((d) => d.startsWith(`${remote.repo}@`));
    if (digests.length !== 1) throw new EnvironmentError(`after pushing ${ref} to ${registry} the engine records ${digests.length} digests for it there, not one`, 'RD_IMAGE_LOAD');
    byDigest.set(ref, digests[0]!);
  }
  return byDigest;
}

async function pullInto(target: ImageTarget, refs: string[], byDigest: Map<string, string>): Promise<void> {
  for (const ref of refs) {
    const digestRef = byDigest.get(ref)!;
    try {
      await followProgress(target.docker, await target.docker.pull(digestRef));
    } catch (e) {
      throw new EnvironmentError(`pulling ${digestRef} into ${target.name} failed: ${errorMessage(e)}`, 'RD_IMAGE_LOAD');
    }
    const { repo, tag } = splitRef(ref);
    await target.docker.getImage(digestRef).tag({ repo, tag });
  }
}

/**
 * Makes `refs` present on every target with the same id as on `from`: sent
 * only where missing or different, checked after. Targets are served at once.
 */
export async function loadImages(from: Docker, to: Array<Docker | ImageTarget>, refs: string[], opts: LoadOptions = {}): Promise<LoadedImage[]> {
  const say = opts.say ?? (() => {});
  const targets = to.map(asTarget);
  const ids = await sourceIds(from, [...new Set(refs)]);
  const needs = await Promise.all(targets.map((t) => missingOn(t, ids)));
  const anyNeeded = [...new Set(needs.flat())];
  const byDigest = opts.registry && anyNeeded.length ? await pushAll(from, anyNeeded, opts.registry, say) : undefined;
  const results = await Promise.all(
    targets.map(async (t, i) => {
      const need = needs[i]!;
      if (need.length) {
        say(`${byDigest ? 'pulling' : 'loading'} ${need.join(', ')} into ${t.name}`);
        if (byDigest) await pullInto(t, need, byDigest);
        else await saveInto(from, t, need);
        await checkIds(t, ids, need, byDigest ? 'the pull' : 'the load');
      }
      return [...ids].map(([ref, id]): LoadedImage => ({ ref, target: t.name, id, action: need.includes(ref) ? (byDigest ? 'pulled' : 'loaded') : 'present' }));
    }),
  );
  return results.flat();
}
