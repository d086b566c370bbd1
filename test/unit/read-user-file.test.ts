import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readUserFile, readUserFileSync } from '../../harness/files/read-user-file.ts';

// The hostile cases (FIFO, device, folder, huge) are in hostile-corpus.test.ts, through the real CLI.
describe('reading a file a user names', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-read-user-file-'));
  const opts = { what: 'manifest', maxBytes: 1 << 20, code: 'RD_MANIFEST_UNREADABLE' as const };

  it('reads a whole file, larger than the first buffer, and one that says it holds 0 bytes (/proc)', async () => {
    const big = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 31) & 255));
    writeFileSync(join(dir, 'big'), big);
    expect((await readUserFile(join(dir, 'big'), opts)).equals(big)).toBe(true);
    expect(readUserFileSync(join(dir, 'big'), opts).equals(big)).toBe(true);
    const proc = await readUserFile('/proc/self/limits', opts);
    expect(proc.toString()).toMatch(/^Limit\s+Soft Limit/);
    expect(readUserFileSync('/proc/self/limits', opts).toString()).toMatch(/Max open files/);
  });

  it('refuses a file one byte over its limit, naming it', async () => {
    writeFileSync(join(dir, 'm.json'), 'x'.repeat(1001));
    await expect(readUserFile(join(dir, 'm.json'), { ...opts, maxBytes: 1000 })).rejects.toThrow(/^manifest .*m\.json is 1001 bytes, more than the 1000 a manifest may be$/);
    expect((await readUserFile(join(dir, 'm.json'), { ...opts, maxBytes: 1001 })).toString()).toBe(readFileSync(join(dir, 'm.json'), 'utf8'));
  });

  it('reads synchronously only what is small (at most 1 MiB), so no long read holds the signal handlers', () => {
    expect(() => readUserFileSync(join(dir, 'm.json'), { ...opts, maxBytes: 16 << 20 })).toThrow(/too much to read synchronously/);
  });
});
