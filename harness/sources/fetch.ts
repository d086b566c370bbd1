import { open, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { errorMessage, isRestoreDrillError } from '../errors.ts';
import { HashingFileSink } from './file-sink.ts';
import { ArchiveMismatchError, SourceError, SourceStreamError } from './source-error.ts';
import type { ArchiveSource, SourceObject } from './source.ts';

export interface FetchOptions {
  /** What the manifest records: a difference stops the fetch (as early as it shows) and throws ArchiveMismatchError. */
  expected?: { sha256: string; sizeBytes: number };
  signal?: AbortSignal;
}

export interface FetchResult {
  sha256: string;
  sizeBytes: number;
  /** The object as its source described it (location, version id / ETag / snapshot id). */
  object: SourceObject;
}

/**
 * Fetches an archive once into `targetFile` (which must not exist: it is made
 * here, 0600), computing sha256 and size while the bytes arrive, so the archive
 * is verified without a second read and memory stays flat whatever its size.
 *
 * A size the source announces that differs from `expected` stops before any
 * byte is read; a stream that grows past it stops at that chunk. On any
 * failure (mismatch, source error, connection cut, abort) the partial file is
 * removed and the error names the location's display form only.
 */
export async function fetchArchive(source: ArchiveSource, location: string, targetFile: string, options: FetchOptions = {}): Promise<FetchResult> {
  const { expected, signal } = options;
  signal?.throwIfAborted();
  const shown = source.display(location);
  // Made before anything is read, exclusively: an existing file is never
  // overwritten (nor removed by the cleanup below, which is only for ours).
  const file = await open(targetFile, 'wx', 0o600);
  let object: SourceObject | undefined;
  let received = 0;
  try {
    const opened = await source.open(location, signal);
    object = opened.object;
    const announced = object.sizeBytes;
    if (expected && announced !== undefined && announced !== expected.sizeBytes) {
      opened.stream.destroy();
      throw sizeMismatch(shown, expected.sizeBytes, announced, object, `the source announces ${announced} bytes`);
    }
    const obj = object;
    const sink = new HashingFileSink(file.fd, (chunk) => {
      received += chunk.length;
      if (expected && received > expected.sizeBytes) {
        return sizeMismatch(shown, expected.sizeBytes, received, obj, `more than ${expected.sizeBytes} bytes arrived (stopped at ${received})`);
      }
      return undefined;
    });
    await pipeline(opened.stream, sink, { signal });
    const sha256 = sink.digest();
    if (announced !== undefined && received !== announced) {
      throw new SourceError(`${shown}: connection cut: the stream ended after ${received} of ${announced} bytes`, 'RD_SOURCE_CUT');
    }
    if (expected && received !== expected.sizeBytes) {
      throw sizeMismatch(shown, expected.sizeBytes, received, object, `${received} bytes arrived`);
    }
    if (expected && sha256 !== expected.sha256) {
      throw new ArchiveMismatchError(
        `${shown}: sha256 ${sha256.slice(0, 12)}… of the bytes that arrived does not match the manifest's ${expected.sha256.slice(0, 12)}…`,
        'sha256',
        expected.sha256,
        sha256,
        object,
      );
    }
    return { sha256, sizeBytes: received, object };
  } catch (e) {
    await file.close().catch(() => undefined);
    await rm(targetFile, { force: true });
    if (signal?.aborted || (isRestoreDrillError(e) && !(e instanceof SourceStreamError))) throw e;
    // A raw stream error (socket reset, premature close) after the source answered.
    const why = e instanceof SourceStreamError ? e.message : oneLine(e);
    throw new SourceError(`${shown}: connection cut after ${received}${object?.sizeBytes !== undefined ? ` of ${object.sizeBytes}` : ''} bytes (${why})`, 'RD_SOURCE_CUT', { cause: e });
  } finally {
    await file.close().catch(() => undefined);
  }
}

function sizeMismatch(shown: string, expected: number, observed: number, object: SourceObject, what: string): ArchiveMismatchError {
  return new ArchiveMismatchError(`${shown}: ${what}, the manifest records ${expected}`, 'sizeBytes', expected, observed, object);
}

function oneLine(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  const msg = errorMessage(e).split('\n')[0]!.slice(0, 200);
  return typeof code === 'string' && !msg.includes(code) ? `${code}: ${msg}` : msg;
}
