import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { HashingFileSink } from '../../harness/sources/file-sink.ts';

describe('HashingFileSink', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-sink-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes every chunk in order and hashes them in order', async () => {
    const chunks = Array.from({ length: 200 }, (_, i) => randomBytes(1000 + i * 37));
    const whole = Buffer.concat(chunks);
    const fd = openSync(join(dir, 'a.bin'), 'wx');
    const sink = new HashingFileSink(fd, () => undefined);
    await pipeline(Readable.from(chunks), sink);
    closeSync(fd);
    expect(sink.digest()).toBe(createHash('sha256').update(whole).digest('hex'));
    expect(readFileSync(join(dir, 'a.bin')).equals(whole)).toBe(true);
  });

  it('a refused chunk stops the stream with the refusal, nothing after it written', async () => {
    const fd = openSync(join(dir, 'b.bin'), 'wx');
    let seen = 0;
    const sink = new HashingFileSink(fd, () => (++seen === 3 ? new Error('too many bytes') : undefined));
    await expect(pipeline(Readable.from([Buffer.alloc(10, 1), Buffer.alloc(10, 2), Buffer.alloc(10, 3), Buffer.alloc(10, 4)]), sink)).rejects.toThrow('too many bytes');
    closeSync(fd);
    expect(readFileSync(join(dir, 'b.bin'))).toEqual(Buffer.concat([Buffer.alloc(10, 1), Buffer.alloc(10, 2)]));
  });
});
