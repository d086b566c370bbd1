import { ExitCode, RestoreDrillError, type ErrorCode } from '../errors.ts';
import type { SourceObject } from './source.ts';

/**
 * An archive location could not be read: one line naming the location's
 * display form (never a credential) and what answered (403, 404, a connection
 * cut mid-stream, the CLI's own last error line). The drill ends `error`.
 */
export class SourceError extends RestoreDrillError {
  constructor(message: string, code: ErrorCode = 'RD_SOURCE', options?: ErrorOptions) {
    super(message, code, ExitCode.error, options);
  }
}

/**
 * A source's byte stream broke where the location is not known (cut short,
 * more bytes than announced): the fetch reading it names the location and the
 * bytes that arrived.
 */
export class SourceStreamError extends SourceError {}

/**
 * The bytes that arrived are not the ones the manifest records: a finding about
 * the archive (the drill fails at integrity, before any container), not a fault
 * of the harness. `observed` for a size stopped early is the count read so far
 * (or the size the source announced), which already differs.
 */
export class ArchiveMismatchError extends RestoreDrillError {
  constructor(
    message: string,
    readonly field: 'sizeBytes' | 'sha256',
    readonly expected: string | number,
    readonly observed: string | number,
    readonly object: SourceObject,
  ) {
    super(message, 'RD_ARCHIVE_MISMATCH', ExitCode.failed);
  }
}
