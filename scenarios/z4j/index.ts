import type { Profile } from '../../harness/profile.ts';
import { captureZ4j } from './capture.ts';
import { z4jDemo } from './demo.ts';
import { z4jContract } from './contract.ts';
import { z4jImage } from './image.ts';
import { Z4jSession } from './session.ts';
import { sqliteBackend } from './sqlite-backend.ts';
import { Z4J_PINNED_VERSION } from './version.ts';
import { backupZ4jPg } from './pg/backup.ts';
import { PG_ARCHIVE_FORMAT } from './pg/capture.ts';
import { z4jPgImageFor } from './pg/image.ts';
import { pgBackend } from './pg/backend.ts';
import { z4jProgress } from './progress.ts';
import { readZ4jSecrets } from './secret-env.ts';
import type { Z4jSessionCheckId } from './check-ids.ts';
import type { Z4jObservationTypes } from './app-checks.ts';

export const z4jProfile: Profile<Z4jSessionCheckId, Z4jObservationTypes> = {
  name: 'z4j',
  summary: 'z4j control plane: SQLite and PostgreSQL (pg_dump) backups made by `z4j backup`, with its HMAC audit chain',
  contract: z4jContract,
  // z4j's restore authenticates the archive's whole chain in Python: about 350 s
  // for 216k rows and 900 s for 1M on 2 cores. Twice that, plus the file's size.
  commandTimeoutMs: (m) => 60_000 + 2 * (m.expectations.chain?.length ?? 0) + 1000 * (m.archive.sizeBytes / 2 ** 20),
  defaultVersion: Z4J_PINNED_VERSION,
  // The archive format the manifest records picks the image and the session.
  image: (version, manifest) => (manifest?.archive.format === PG_ARCHIVE_FORMAT ? z4jPgImageFor(version, manifest) : z4jImage(version)),
  capture: captureZ4j,
  // secret.env as z4j's own reader takes it: a reformatted or reordered copy is the same file to z4j.
  readSecrets: readZ4jSecrets,
  // One session; the archive format the manifest records picks its backend.
  session: (ctx) => new Z4jSession(ctx, ctx.manifest.archive.format === PG_ARCHIVE_FORMAT ? pgBackend() : sqliteBackend()),
  demo: z4jDemo,
  backup: backupZ4jPg,
  progress: z4jProgress,
};
