import type Docker from 'dockerode';
import { IMAGE_LABEL, RECIPE_LABEL } from '../runtime/labels.ts';
import { REPO_PREFIX } from './recipe.ts';

export interface ImageEntry {
  id: string;
  tags: string[];
  recipe?: string;
  created: Date;
  sizeBytes: number;
}

/** Every image restore-drill built or imported (labelled, or under restore-drill/). */
export async function listImages(docker: Docker): Promise<ImageEntry[]> {
  const all = await docker.listImages();
  return all
    .filter((i) => i.Labels?.[IMAGE_LABEL] === 'true' || (i.RepoTags ?? []).some((t) => t.startsWith(REPO_PREFIX)))
    .map((i) => ({
      id: i.Id,
      tags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
      ...(i.Labels?.[RECIPE_LABEL] ? { recipe: i.Labels[RECIPE_LABEL] } : {}),
      created: new Date(i.Created * 1000),
      sizeBytes: i.Size,
    }))
    .sort((a, b) => a.tags.join().localeCompare(b.tags.join()));
}

/**
 * Removes images whose id is not in `keep` (the images current recipes resolve
 * to). Images in use by a container are left and reported.
 */
export async function pruneImages(docker: Docker, keep: Set<string>): Promise<{ removed: string[]; kept: string[]; busy: string[] }> {
  const removed: string[] = [];
  const kept: string[] = [];
  const busy: string[] = [];
  for (const img of await listImages(docker)) {
    const name = img.tags[0] ?? img.id.slice(7, 19);
    if (keep.has(img.id)) {
      kept.push(name);
      continue;
    }
    try {
      // Untag one tag at a time: removing by id refuses an image with several tags.
      for (const ref of img.tags.length > 0 ? img.tags : [img.id]) await docker.getImage(ref).remove();
      removed.push(name);
    } catch {
      busy.push(name);
    }
  }
  return { removed, kept, busy };
}
