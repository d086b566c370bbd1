import type { Profile } from '../../harness/profile.ts';
import { z4jImage } from './image.ts';
import { Z4J_PINNED_VERSION } from './version.ts';

export const z4jProfile: Profile = {
  name: 'z4j',
  summary: 'z4j control plane (SQLite backups made by `z4j backup`)',
  defaultVersion: Z4J_PINNED_VERSION,
  image: z4jImage,
  capture: () => Promise.reject(new Error('not yet')),
  session: () => {
    throw new Error('not yet');
  },
};
