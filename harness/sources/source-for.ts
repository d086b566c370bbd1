import { RcloneSource } from './rclone.ts';
import { ResticSource } from './restic.ts';
import { S3Source } from './s3.ts';
import type { ArchiveSource } from './source.ts';

/**
 * The off-host source that reads a location, chosen by its form: `s3://`,
 * `restic:`, `rclone:`. A plain path is the local-file source's (undefined
 * here). Each call gives a fresh source; the S3 client is made at first use.
 */
export function sourceFor(location: string, env: NodeJS.ProcessEnv = process.env): ArchiveSource | undefined {
  const sources: ArchiveSource[] = [new S3Source({ env }), new ResticSource({ env }), new RcloneSource({ env })];
  return sources.find((s) => s.handles(location));
}
