import { ensureEngine } from '../runtime/engine.ts';
import { sweep } from '../runtime/sweep.ts';
import { ensureImage, ensureWorkerImage, type BaseMode } from '../images/index.ts';
import { getProfile, listProfiles } from '../profiles.ts';
import type { Profile } from '../profile.ts';

export interface SetupOptions {
  profile?: string;
  version?: string[];
  base?: BaseMode;
  /** Also restore-drill's own worker image, for fleets. */
  worker?: boolean;
  say: (line: string) => void;
}

/**
 * Makes a host ready to drill: an engine that answers (installed and started
 * where we can), leftovers swept, and the images for the profiles' versions.
 */
export async function setupCommand(opts: SetupOptions): Promise<number> {
  const engine = await ensureEngine({ install: true, say: opts.say });
  opts.say(`engine: ${engine.endpoint} (server ${engine.serverVersion})`);
  const swept = await sweep(engine.docker);
  for (const n of swept.notRemoved) opts.say(`warning: a leftover was not removed: ${n}`);
  if (swept.containers + swept.networks + swept.volumes > 0) {
    opts.say(`swept leftovers: ${swept.containers} containers, ${swept.networks} networks, ${swept.volumes} volumes`);
  }
  const profiles: Profile[] = opts.profile ? [getProfile(opts.profile)] : listProfiles();
  for (const p of profiles) {
    for (const version of opts.version?.length ? opts.version : [p.defaultVersion]) {
      const img = await ensureImage(engine.docker, p.image(version), { ...(opts.base ? { baseMode: opts.base } : {}), say: opts.say });
      opts.say(`image: ${img.tag} (${img.cacheHit ? 'cached' : 'built'}; base ${img.base.source})`);
    }
  }
  if (opts.worker) {
    const img = await ensureWorkerImage(engine.docker, { ...(opts.base ? { baseMode: opts.base } : {}), say: opts.say });
    opts.say(`worker image: ${img.tag} (${img.cacheHit ? 'cached' : 'built'})`);
  }
  return 0;
}
