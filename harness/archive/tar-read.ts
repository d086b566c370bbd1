import { constants, createReadStream } from 'node:fs';
import { mkdir, open, realpath, type FileHandle } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { judgeEntryName, linkTargetInside } from './tar-path.ts';
import { DrillError } from '../errors.ts';

/** Bounds on what a tar.gz may make the harness read or write. */
export interface TarLimits {
  /** Entries of any kind. */
  maxEntries: number;
  /** One entry's declared size. */
  maxEntryBytes: number;
  /** All entries' sizes together. */
  maxTotalBytes: number;
  /** Uncompressed bytes per compressed byte read, checked once past `ratioFloorBytes`. */
  maxRatio: number;
  /** Uncompressed bytes below which the ratio is not judged (small files compress very well). */
  ratioFloorBytes: number;
}

export const DEFAULT_TAR_LIMITS: TarLimits = {
  maxEntries: 20_000,
  maxEntryBytes: 64 * 2 ** 30,
  maxTotalBytes: 256 * 2 ** 30,
  maxRatio: 200,
  ratioFloorBytes: 16 * 2 ** 20,
};

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'link';

export interface TarEntryInfo {
  /** Normalised relative name ("./data/x" -> "data/x"). */
  name: string;
  type: TarEntryType;
  size: number;
  /** For links: where they point, relative to the root (only links that stay inside are listed). */
  target?: string;
}

export type TarProblem =
  | 'absolute-path'
  | 'parent-traversal'
  | 'bad-name'
  | 'link-out'
  | 'special-file'
  | 'too-large'
  | 'too-many-entries'
  | 'total-too-large'
  | 'gzip-bomb'
  | 'torn'
  | 'corrupt';

/** Why one entry (or the stream itself, entry "(archive)") was refused. */
export interface TarFinding {
  entry: string;
  problem: TarProblem;
  reason: string;
}

export interface TarReadResult {
  /** Entries judged safe, in archive order. */
  entries: TarEntryInfo[];
  findings: TarFinding[];
  /** False when reading stopped early (a bomb, a limit, a corrupt stream). */
  complete: boolean;
  compressedBytes: number;
  uncompressedBytes: number;
  /** Contents of the entries `collect` asked for (small files such as a metadata JSON). */
  collected: Map<string, Buffer>;
}

export interface ReadTarOptions {
  limits?: Partial<TarLimits>;
  /** Folder to write the safe regular files and folders into (files 0600, folders 0700). Links are never created. */
  extractTo?: string;
  /** Names whose contents to keep in memory (each at most 1 MiB). */
  collect?: (name: string) => boolean;
}

const COLLECT_MAX = 2 ** 20;

class Stop extends Error {}

/**
 * Reads a tar.gz entry by entry without trusting it. Nothing lands outside
 * `extractTo`: absolute names, "..", links pointing out and device files are
 * refused (and not written), sizes are bounded, and a gzip bomb is stopped by
 * the ratio of uncompressed to compressed bytes. Every refusal is a finding
 * naming the entry; the caller decides what a finding means.
 */
export async function readTarGz(path: string, opts: ReadTarOptions = {}): Promise<TarReadResult> {
  const limits = { ...DEFAULT_TAR_LIMITS, ...opts.limits };
  const result: TarReadResult = { entries: [], findings: [], complete: true, compressedBytes: 0, uncompressedBytes: 0, collected: new Map() };
  const root = opts.extractTo ? await realpath(opts.extractTo) : undefined;
  let current = '(archive)';
  /** The last regular file whose header was read: the one a misaligned header after it belongs to. */
  let lastFile: string | undefined;
  let declaredTotal = 0;
  let count = 0;
  let stop: TarFinding | undefined;

  const source = createReadStream(path);
  // Ends the whole pipeline: the source may already be fully read, so the
  // error is also handed to whichever stage called (next() or a transform).
  const halt = (f: TarFinding): Stop => {
    if (!stop) stop = f;
    const e = new Stop(f.reason);
    source.destroy(e);
    return e;
  };
  const compressed = counter((n) => (result.compressedBytes += n));
  const inflated = counter((n) => {
    result.uncompressedBytes += n;
    const over = inflateOverLimit(result.uncompressedBytes, result.compressedBytes, limits);
    // Failing the transform stops inflating at once (gunzip would finish the chunk it holds).
    return over ? halt({ entry: current, ...over }) : undefined;
  });
  const extract = tar.extract();
  // Files being written: a stream cut short can leave an entry's copy waiting
  // forever, so whatever is still open when reading ends is closed then.
  const handles = new Set<FileHandle>();
  let ended = false;

  extract.on('entry', (header, stream, next) => {
    const raw = header.name;
    current = raw;
    // A truncated or damaged stream fails this entry's stream too, possibly after
    // whatever consumed it is done: the pipeline below reports the cause once.
    stream.on('error', () => {});
    const drain = () => {
      stream.on('end', () => next());
      stream.resume();
    };
    const refuse = (problem: TarProblem, reason: string) => {
      result.findings.push({ entry: raw, problem, reason });
      drain();
    };
    // A limit ends the whole read: the source is destroyed (it may already be
    // fully read, so the extractor is destroyed too, which fails the pipeline).
    // Handing the error to next() instead would raise it from inside
    // tar-stream, where nothing catches it.
    const stopAll = (f: TarFinding) => {
      // The entry's own stream is destroyed with the extractor and would
      // re-emit the error with no one listening: the cause is already a finding.
      stream.on('error', () => {});
      extract.destroy(halt(f));
    };
    if (++count > limits.maxEntries) return stopAll({ entry: raw, problem: 'too-many-entries', reason: `more than ${limits.maxEntries} entries; reading stopped` });
    const size = header.size ?? 0;
    if (size > limits.maxEntryBytes) return stopAll({ entry: raw, problem: 'too-large', reason: `declares ${size} bytes, more than the limit of ${limits.maxEntryBytes}; reading stopped` });
    declaredTotal += size;
    if (declaredTotal > limits.maxTotalBytes) return stopAll({ entry: raw, problem: 'total-too-large', reason: `entries declare more than ${limits.maxTotalBytes} bytes in all; reading stopped` });

    const judged = judgeEntryName(raw);
    if (!judged.ok) return refuse(judged.problem, judged.reason);
    const name = judged.name;
    const type = header.type ?? 'file';
    if (type === 'symlink' || type === 'link') {
      const target = linkTargetInside(name, header.linkname ?? '', type);
      if (target === undefined) return refuse('link-out', `${type === 'symlink' ? 'symbolic' : 'hard'} link to "${header.linkname ?? ''}" points outside the target folder`);
      result.entries.push({ name, type, size: 0, target });
      return drain();
    }
    if (type === 'directory') {
      result.entries.push({ name, type, size: 0 });
      if (!root || name === '.') return drain();
      mkdirInside(root, name).then(drain, (e: unknown) => next(e as Error));
      return;
    }
    if (type !== 'file' && type !== 'contiguous-file') return refuse('special-file', `a ${type} entry: only regular files, folders and links inside are allowed`);

    result.entries.push({ name, type: 'file', size });
    lastFile = raw;
    const keep = opts.collect?.(name) && size <= COLLECT_MAX;
    const write = async () => {
      const chunks: Buffer[] = [];
      const sink = keep
        ? counter((_n, chunk) => void chunks.push(chunk))
        : undefined;
      if (root) {
        await mkdirInside(root, dirname(name));
        // O_NOFOLLOW: never write through a link, whatever is already there.
        const fh = await open(join(root, name), constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
        if (ended) {
          await fh.close();
          return;
        }
        handles.add(fh);
        try {
          if (sink) await pipeline(stream, sink, fh.createWriteStream());
          else await pipeline(stream, fh.createWriteStream());
        } finally {
          handles.delete(fh);
          await fh.close().catch(() => {});
        }
      } else if (sink) {
        await pipeline(stream, sink, devNull());
      } else {
        await pipeline(stream, devNull());
      }
      if (keep) result.collected.set(name, Buffer.concat(chunks));
    };
    write().then(() => next(), (e: unknown) => next(e as Error));
  });

  try {
    await pipeline(source, compressed, createGunzip(), inflated, extract);
  } catch (e) {
    result.complete = false;
    if (!stop) {
      const msg = e instanceof Error ? e.message : String(e);
      // A bad header right after a file, in a gzip stream that is itself intact, is what the writer
      // wrote: a header announcing the size the file had when it was opened, then the file copied to
      // its end after it grew (a live copy). Said in those words; anything else is corruption.
      if (/invalid tar header/i.test(msg) && lastFile !== undefined && (await gzipIntact(path, limits))) {
        result.findings.push({
          entry: lastFile,
          problem: 'torn',
          reason: 'this file grew while it was copied (the archive holds more of it than its header announced, so nothing after it can be read); take the backup again',
        });
      } else {
        result.findings.push({ entry: current, problem: 'corrupt', reason: `the archive cannot be read as tar.gz: ${msg}` });
      }
    }
  }
  ended = true;
  for (const fh of handles) await fh.close().catch(() => {});
  handles.clear();
  if (stop) {
    result.complete = false;
    result.findings.push(stop);
  }
  return result;
}

/** The bound a stream of `inflated` bytes from `compressed` ones has crossed, if any. */
function inflateOverLimit(inflated: number, compressed: number, limits: TarLimits): { problem: TarProblem; reason: string } | undefined {
  if (inflated > limits.ratioFloorBytes && inflated > limits.maxRatio * Math.max(1, compressed)) {
    return { problem: 'gzip-bomb', reason: `gzip bomb: ${inflated} bytes inflated from ${compressed} compressed bytes (more than ${limits.maxRatio} times); reading stopped` };
  }
  if (inflated > limits.maxTotalBytes + 2 ** 20) return { problem: 'total-too-large', reason: `the archive inflates beyond ${limits.maxTotalBytes} bytes; reading stopped` };
  return undefined;
}

/** Whether the whole gzip stream inflates to its end with a good checksum, within the same bounds. */
async function gzipIntact(path: string, limits: TarLimits): Promise<boolean> {
  let compressed = 0;
  let inflated = 0;
  try {
    await pipeline(
      createReadStream(path),
      counter((n) => void (compressed += n)),
      createGunzip(),
      counter((n) => {
        inflated += n;
        return inflateOverLimit(inflated, compressed, limits) ? new DrillError('beyond limits', 'RD_ARCHIVE_DAMAGED') : undefined;
      }),
      devNull(),
    );
    return true;
  } catch {
    return false;
  }
}

/** Creates a folder under root, refusing to pass through anything that resolves outside it. */
async function mkdirInside(root: string, rel: string): Promise<void> {
  const target = join(root, rel);
  await mkdir(target, { recursive: true, mode: 0o700 });
  const real = await realpath(target);
  if (real !== root && !real.startsWith(root + sep)) throw new DrillError(`refusing to write under ${rel}: it resolves outside the target folder`, 'RD_ARCHIVE_DAMAGED');
}

/** Passes chunks through, telling onChunk about each; an Error returned from it ends the stream. */
function counter(onChunk: (n: number, chunk: Buffer) => unknown): Transform {
  let failed = false;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      if (failed) return cb();
      const r = onChunk(chunk.length, chunk);
      if (r instanceof Error) {
        failed = true;
        return cb(r);
      }
      cb(null, chunk);
    },
  });
}

function devNull(): Transform {
  return new Transform({
    transform(_chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      cb();
    },
  });
}
