import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { cliStream } from '../../harness/sources/cli-process.ts';
import { fetchArchive } from '../../harness/sources/fetch.ts';
import { ArchiveMismatchError, SourceError } from '../../harness/sources/source-error.ts';
import type { ArchiveSource, SourceObject } from '../../harness/sources/source.ts';

const work = mkdtempSync(join(tmpdir(), 'rd-fetch-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const CHUNK = Buffer.alloc(64 * 1024, 7);

/** A source whose stream is generated chunk by chunk, counting how many were pulled (to see an early stop). */
function generated(chunks: number, announced: number | undefined, failAfter?: number): ArchiveSource & { pulled: () => number } {
  let pulled = 0;
  return {
    kind: 'test',
    handles: () => true,
    display: (l) => `test:${l}`,
    list: async () => [],
    readSmall: async () => undefined,
    pulled: () => pulled,
    async open(location) {
      const object: SourceObject = { location, name: 'x.db', sizeBytes: announced, version: 'v1' };
      const stream = Readable.from(
        (function* () {
          for (let i = 0; i < chunks; i++) {
            if (failAfter !== undefined && i === failAfter) throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
            pulled++;
            yield CHUNK;
          }
        })(),
        { objectMode: false, highWaterMark: 1 },
      );
      return { object, stream };
    },
  };
}

const shaOf = (chunks: number): string => {
  const h = createHash('sha256');
  for (let i = 0; i < chunks; i++) h.update(CHUNK);
  return h.digest('hex');
};

describe('fetchArchive', () => {
  it('writes the bytes once and returns their sha256, size and the object', async () => {
    const target = join(work, 'ok.db');
    const got = await fetchArchive(generated(20, 20 * CHUNK.length), 'a', target, { expected: { sha256: shaOf(20), sizeBytes: 20 * CHUNK.length } });
    expect(got).toMatchObject({ sha256: shaOf(20), sizeBytes: 20 * CHUNK.length, object: { version: 'v1' } });
    expect(createHash('sha256').update(readFileSync(target)).digest('hex')).toBe(shaOf(20));
  });

  it('stops early, before the whole object arrives, when more bytes come than the manifest records, and removes the partial file', async () => {
    const src = generated(1000, undefined);
    const target = join(work, 'long.db');
    const e = await fetchArchive(src, 'a', target, { expected: { sha256: shaOf(3), sizeBytes: 3 * CHUNK.length } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ArchiveMismatchError);
    expect((e as ArchiveMismatchError).field).toBe('sizeBytes');
    expect((e as Error).message).toMatch(/^test:a: more than 196608 bytes arrived \(stopped at \d+\), the manifest records 196608$/);
    expect(src.pulled()).toBeLessThan(100);
    expect(existsSync(target)).toBe(false);
  });

  it('reads nothing when the size the source announces differs from the manifest', async () => {
    const src = generated(10, 10 * CHUNK.length);
    const target = join(work, 'announced.db');
    const e = await fetchArchive(src, 'a', target, { expected: { sha256: shaOf(9), sizeBytes: 9 * CHUNK.length } }).catch((x: unknown) => x);
    expect((e as ArchiveMismatchError).observed).toBe(10 * CHUNK.length);
    expect(src.pulled()).toBe(0);
    expect(existsSync(target)).toBe(false);
  });

  it('a shorter stream than announced is a cut connection, not a short archive', async () => {
    const target = join(work, 'short.db');
    const e = await fetchArchive(generated(5, 10 * CHUNK.length), 'a', target).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SourceError);
    expect((e as Error).message).toBe(`test:a: connection cut: the stream ended after ${5 * CHUNK.length} of ${10 * CHUNK.length} bytes`);
    expect(existsSync(target)).toBe(false);
  });

  it('a stream error mid-way names the location and the bytes that arrived', async () => {
    const target = join(work, 'reset.db');
    const e = await fetchArchive(generated(10, 10 * CHUNK.length, 4), 'a', target).catch((x: unknown) => x);
    expect((e as Error).message).toBe(`test:a: connection cut after ${4 * CHUNK.length} of ${10 * CHUNK.length} bytes (read ECONNRESET)`);
    expect(existsSync(target)).toBe(false);
  });

  it('never overwrites or removes a file that is already there', async () => {
    const target = join(work, 'exists.db');
    writeFileSync(target, 'precious');
    await expect(fetchArchive(generated(1, CHUNK.length), 'a', target)).rejects.toThrow(/EEXIST/);
    expect(readFileSync(target, 'utf8')).toBe('precious');
  });

  it('an abort stops the fetch and removes the partial file', async () => {
    const ac = new AbortController();
    const target = join(work, 'aborted.db');
    const src = generated(1_000_000, undefined);
    setTimeout(() => ac.abort(), 20);
    const e = await fetchArchive(src, 'a', target, { signal: ac.signal }).catch((x: unknown) => x);
    expect((e as Error).name).toBe('AbortError');
    expect(src.pulled()).toBeLessThan(1_000_000);
    expect(existsSync(target)).toBe(false);
  });
});

describe('a CLI streamed as a source', () => {
  const fail = (stderr: string, code: number | null) => new SourceError(`cli exit ${code}: ${stderr.trim()}`);

  it('output followed by a failing exit is an error, never a short archive', async () => {
    const s = cliStream({ command: 'sh', args: ['-c', 'printf abc; echo "Fatal: cut" >&2; exit 1'], env: process.env }, fail);
    const chunks: Buffer[] = [];
    const e = await (async () => {
      for await (const c of s) chunks.push(c as Buffer);
    })().catch((x: unknown) => x);
    expect((e as Error).message).toBe('cli exit 1: Fatal: cut');
  });

  it('a program that is not installed says so', async () => {
    const s = cliStream({ command: 'rd-no-such-program', args: [], env: process.env }, fail);
    await expect((async () => {
      for await (const _ of s) void _;
    })()).rejects.toThrow(/rd-no-such-program: not installed/);
  });

  it('destroying the stream stops the program', async () => {
    const s = cliStream({ command: 'sh', args: ['-c', 'exec yes'], env: process.env }, fail);
    for await (const _ of s) break;
    // The program was killed, so nothing is left writing: the stream is closed.
    expect(s.destroyed).toBe(true);
  });
});
