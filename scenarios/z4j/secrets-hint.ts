import { PG_ARCHIVE_FORMAT } from './pg/capture.ts';

/** What to do about a missing secret.env, as z4j's findings say it for each backend's archives. */
export function secretsHint(format: string): string {
  const what = format === PG_ARCHIVE_FORMAT ? 'the only copy of its secrets' : 'the only copy of its auto-minted secrets';
  return `z4j's operator docs say to back up secret.env (~/.z4j/secret.env, ${what}) together with the database; pass it with --secrets`;
}
