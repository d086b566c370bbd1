import type { Readable } from 'node:stream';

/**
 * Where an archive's bytes come from: a local file today; object storage, a
 * restic snapshot or an rclone remote as further implementations. A drill
 * takes its archive through this interface only, so a new kind of location
 * never touches the pipeline.
 *
 * Locations are the strings a user writes (`/var/backups/x.db`,
 * `s3://bucket/key`, `restic:REPO`, `rclone:remote:path`); `display` gives
 * the form that may be printed (never a credential).
 */
export interface ArchiveSource {
  /** The location kind this source reads, e.g. 'file', 's3', 'restic', 'rclone'. */
  readonly kind: string;
  /** Whether this source reads `location` (its scheme or form). */
  handles(location: string): boolean;
  /** The location as it may appear in output, reports and evidence: no credential, no secret query string. */
  display(location: string): string;
  /**
   * The archives a location stands for: itself when it names one object, the
   * objects below it when it names a folder, prefix or path in a snapshot
   * (manifests, signatures and hidden files excluded, as for local folders).
   */
  list(location: string, signal?: AbortSignal): Promise<SourceObject[]>;
  /** The object's bytes, streamed as they arrive (never buffered whole). */
  open(location: string, signal?: AbortSignal): Promise<{ object: SourceObject; stream: Readable }>;
  /**
   * A small neighbouring file (the manifest `<archive>.manifest.json`, its
   * signature), read whole up to `maxBytes`; undefined when there is none.
   * Larger is an error naming the location.
   */
  readSmall(location: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer | undefined>;
}

/** One archive as its source describes it. */
export interface SourceObject {
  /** The full location of this object, in the source's own form (can be opened again). */
  location: string;
  /** Its file name (last path segment): what reports call the archive. */
  name: string;
  sizeBytes?: number;
  modifiedAt?: Date;
  /** What pins these exact bytes at the source: an object's version id or ETag, a restic snapshot id. */
  version?: string;
}
