import type { Profile } from '../../harness/profile.ts';
import { captureHiveloom } from './capture.ts';
import { envBinarySource, hiveloomImage, type HiveloomBinarySource } from './image.ts';
import { HIVELOOM_PINNED_VERSION } from './layout.ts';
import { HiveloomSession } from './session.ts';
import { hiveloomContract, type HiveloomObservationTypes } from './contract.ts';
import type { HiveloomSessionCheckId } from './check-ids.ts';

export { envBinarySource, hiveloomImage, type HiveloomBinarySource } from './image.ts';
export { ARCHIVE_FORMAT, HIVELOOM_PINNED_VERSION } from './layout.ts';

/**
 * The Hiveloom profile, with the binary taken from `source` (by default
 * $RESTORE_DRILL_HIVELOOM_BINARY). Tests make one with the stand-in's.
 */
export function createHiveloomProfile(source: HiveloomBinarySource = envBinarySource()): Profile<HiveloomSessionCheckId, HiveloomObservationTypes> {
  return {
    name: 'hiveloom',
    summary: 'Hiveloom agent platform: tar.gz backups with master.key, platform.db and tenant stores (binary supplied by the user)',
    contract: hiveloomContract,
    defaultVersion: HIVELOOM_PINNED_VERSION,
    image: (version) => hiveloomImage(version, source),
    capture: (input) => captureHiveloom(input, source),
    session: (ctx) => new HiveloomSession(ctx),
  };
}

export const hiveloomProfile: Profile<HiveloomSessionCheckId, HiveloomObservationTypes> = createHiveloomProfile();
