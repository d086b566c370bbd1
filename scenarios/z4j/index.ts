import type { Profile } from '../../harness/profile.ts';
import { captureZ4j } from './capture.ts';
import { z4jDemo } from './demo.ts';
import { z4jImage } from './image.ts';
import { Z4jSqliteSession } from './session.ts';
import { Z4J_PINNED_VERSION } from './version.ts';

export const z4jProfile: Profile = {
  name: 'z4j',
  summary: 'z4j control plane: SQLite backups made by `z4j backup`, with its HMAC audit chain',
  defaultVersion: Z4J_PINNED_VERSION,
  image: z4jImage,
  capture: captureZ4j,
  session: (ctx) => new Z4jSqliteSession(ctx),
  demo: z4jDemo,
};
