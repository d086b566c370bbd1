import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGzip, gzipSync } from 'node:zlib';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
type TarHeader = Partial<tar.Header> & { name: string };
import { describe, expect, it } from 'vitest';
import { readTarGz } from '../../harness/archive/tar-read.ts';
import { randomBytes } from 'node:crypto';
import { LiveTarWriter } from '../fixtures/hiveloom-standin/src/tar-writer.ts';
import { judgeEntryName, linkTargetInside } from '../../harness/archive/tar-path.ts';

type Spec = TarHeader & { body?: string | Buffer };

const dir = mkdtempSync(join(tmpdir(), 'rd-tar-'));
let n = 0;

async function tarGz(entries: Spec[]): Promise<string> {
  const pack = tar.pack();
  const out = join(dir, `a${n++}.tar.gz`);
  const done = pipeline(pack, createGzip(), createWriteStream(out));
  for (const { body, ...h } of entries) {
    await new Promise<void>((resolve, reject) => pack.entry(h, body ?? '', (e) => (e ? reject(e) : resolve())));
  }
  pack.finalize();
  await done;
  return out;
}

function freshDir(): string {
  return mkdtempSync(join(dir, 'x-'));
}

describe('safe tar.gz reading', () => {
  it('lists and extracts a well-formed archive, files 0600, with ./ prefixes normalised', async () => {
    const a = await tarGz([
      { name: 'backup.json', body: '{"scope":"instance"}' },
      { name: './data', type: 'directory' },
      { name: './data/master.key', body: Buffer.alloc(32, 7) },
      { name: 'data/tenants/t1/store.db', body: 'x'.repeat(1000) },
    ]);
    const out = freshDir();
    const r = await readTarGz(a, { extractTo: out, collect: (name) => name === 'backup.json' });
    expect(r.findings).toEqual([]);
    expect(r.complete).toBe(true);
    expect(r.entries.map((e) => e.name)).toEqual(['backup.json', 'data', 'data/master.key', 'data/tenants/t1/store.db']);
    expect(r.collected.get('backup.json')?.toString()).toBe('{"scope":"instance"}');
    expect(readFileSync(join(out, 'data/master.key'))).toEqual(Buffer.alloc(32, 7));
    expect(statSync(join(out, 'data/master.key')).mode & 0o777).toBe(0o600);
  });

  it('refuses an entry that climbs out with "..", naming it, and writes nothing for it', async () => {
    const a = await tarGz([{ name: 'backup.json', body: '{}' }, { name: '../../etc/x', body: 'pwned' }]);
    const out = freshDir();
    const r = await readTarGz(a, { extractTo: out });
    expect(r.findings).toEqual([{ entry: '../../etc/x', problem: 'parent-traversal', reason: expect.stringContaining('outside the target folder') }]);
    expect(existsSync(join(out, '..', '..', 'etc', 'x'))).toBe(false);
    expect(r.entries.map((e) => e.name)).toEqual(['backup.json']);
  });

  it('refuses ".." hidden in the middle of a path and in Windows form', async () => {
    const a = await tarGz([{ name: 'data/../../x', body: '1' }, { name: 'data\\..\\..\\y', body: '2' }]);
    const r = await readTarGz(a);
    expect(r.findings.map((f) => [f.entry, f.problem])).toEqual([
      ['data/../../x', 'parent-traversal'],
      ['data\\..\\..\\y', 'parent-traversal'],
    ]);
  });

  it('refuses absolute paths, naming the entry', async () => {
    const a = await tarGz([{ name: '/etc/cron.d/x', body: 'x' }]);
    const r = await readTarGz(a, { extractTo: freshDir() });
    expect(r.findings).toEqual([{ entry: '/etc/cron.d/x', problem: 'absolute-path', reason: expect.stringContaining('absolute path') }]);
  });

  it('refuses a symbolic link that points out (absolute or by ..) and never creates it', async () => {
    const a = await tarGz([
      { name: 'data/evil', type: 'symlink', linkname: '/etc/passwd' },
      { name: 'data/evil2', type: 'symlink', linkname: '../../outside' },
      { name: 'data/fine', type: 'symlink', linkname: 'platform.db' },
    ]);
    const out = freshDir();
    const r = await readTarGz(a, { extractTo: out });
    expect(r.findings.map((f) => [f.entry, f.problem])).toEqual([
      ['data/evil', 'link-out'],
      ['data/evil2', 'link-out'],
    ]);
    expect(r.findings[0]!.reason).toContain('"/etc/passwd"');
    expect(r.entries).toEqual([{ name: 'data/fine', type: 'symlink', size: 0, target: 'data/platform.db' }]);
    expect(existsSync(join(out, 'data'))).toBe(false);
  });

  it('refuses a hard link that points out', async () => {
    const a = await tarGz([{ name: 'data/h', type: 'link', linkname: '../etc/shadow' }]);
    const r = await readTarGz(a);
    expect(r.findings).toEqual([{ entry: 'data/h', problem: 'link-out', reason: expect.stringContaining('hard link') }]);
  });

  it('refuses device files and fifos', async () => {
    const a = await tarGz([
      { name: 'data/null', type: 'character-device', devmajor: 1, devminor: 3 },
      { name: 'data/sda', type: 'block-device', devmajor: 8, devminor: 0 },
      { name: 'data/pipe', type: 'fifo' },
    ]);
    const out = freshDir();
    const r = await readTarGz(a, { extractTo: out });
    expect(r.findings.map((f) => [f.entry, f.problem])).toEqual([
      ['data/null', 'special-file'],
      ['data/sda', 'special-file'],
      ['data/pipe', 'special-file'],
    ]);
    expect(readdirSync(out)).toEqual([]);
  });

  it('stops at an entry larger than the limit, naming it', async () => {
    const a = await tarGz([{ name: 'small', body: 'x' }, { name: 'data/huge.db', body: Buffer.alloc(5000) }]);
    const r = await readTarGz(a, { limits: { maxEntryBytes: 4096 } });
    expect(r.complete).toBe(false);
    expect(r.findings).toEqual([{ entry: 'data/huge.db', problem: 'too-large', reason: expect.stringContaining('5000 bytes') }]);
  });

  it('stops when the entries together exceed the total limit', async () => {
    const a = await tarGz([{ name: 'a', body: Buffer.alloc(3000) }, { name: 'b', body: Buffer.alloc(3000) }]);
    const r = await readTarGz(a, { limits: { maxTotalBytes: 5000 } });
    expect(r.findings).toEqual([{ entry: 'b', problem: 'total-too-large', reason: expect.any(String) }]);
  });

  it('stops at too many entries', async () => {
    const a = await tarGz([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
    const r = await readTarGz(a, { limits: { maxEntries: 2 } });
    expect(r.findings).toEqual([{ entry: 'c', problem: 'too-many-entries', reason: expect.any(String) }]);
  });

  it('stops a gzip bomb by its ratio while inflating, naming the entry, long before its size', async () => {
    const a = await tarGz([{ name: 'backup.json', body: '{}' }, { name: 'data/platform.db', body: Buffer.alloc(64 * 2 ** 20) }]);
    const out = freshDir();
    const r = await readTarGz(a, { extractTo: out, limits: { ratioFloorBytes: 2 ** 20, maxRatio: 100 } });
    expect(r.complete).toBe(false);
    expect(r.findings).toEqual([{ entry: 'data/platform.db', problem: 'gzip-bomb', reason: expect.stringMatching(/^gzip bomb: \d+ bytes inflated from \d+ compressed bytes \(more than 100 times\)/) }]);
    expect(r.uncompressedBytes).toBeLessThan(16 * 2 ** 20);
  });

  it('reports a file that is not gzip, or is cut short, as corrupt', async () => {
    const notGz = join(dir, 'plain.tar.gz');
    writeFileSync(notGz, 'hello, not gzip');
    expect((await readTarGz(notGz)).findings).toEqual([{ entry: '(archive)', problem: 'corrupt', reason: expect.stringContaining('cannot be read as tar.gz') }]);
    const good = readFileSync(await tarGz([{ name: 'a', body: Buffer.alloc(100_000, 1) }]));
    const cut = join(dir, 'cut.tar.gz');
    writeFileSync(cut, good.subarray(0, Math.floor(good.length / 2)));
    const r = await readTarGz(cut);
    expect(r.complete).toBe(false);
    expect(r.findings.map((f) => f.problem)).toEqual(['corrupt']);
  });

  it('accepts gzip of a valid tar with no entries', async () => {
    const empty = join(dir, 'empty.tar.gz');
    writeFileSync(empty, gzipSync(Buffer.alloc(1024)));
    const r = await readTarGz(empty);
    expect(r).toMatchObject({ entries: [], findings: [], complete: true });
  });
});

describe('entry names and link targets', () => {
  it('normalises harmless names and refuses the rest', () => {
    expect(judgeEntryName('./data//x')).toEqual({ ok: true, name: 'data/x' });
    expect(judgeEntryName('C:\\Windows\\x')).toMatchObject({ ok: false, problem: 'absolute-path' });
    expect(judgeEntryName('a\0b')).toMatchObject({ ok: false, problem: 'bad-name' });
    expect(judgeEntryName('a/..b')).toEqual({ ok: true, name: 'a/..b' });
  });

  it('resolves symbolic links from their folder and hard links from the root', () => {
    expect(linkTargetInside('data/tenants/a', '../platform.db', 'symlink')).toBe('data/platform.db');
    expect(linkTargetInside('data/a', '../../x', 'symlink')).toBeUndefined();
    expect(linkTargetInside('data/a', 'data/b', 'link')).toBe('data/b');
    expect(linkTargetInside('data/a', '../b', 'link')).toBeUndefined();
  });
});

describe('a tar.gz cut short', () => {
  it('is a finding at every cut point, never an uncaught error or a hang', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rd-trunc-'));
    const pack = tar.pack();
    pack.entry({ name: 'backup.json' }, '{"scope":"instance"}');
    pack.entry({ name: 'data/master.key' }, Buffer.alloc(32, 1));
    // Incompressible then compressible bodies, so cuts land inside gzip blocks and tar bodies alike.
    pack.entry({ name: 'data/platform.db' }, Buffer.from(Array.from({ length: 120_000 }, (_, i) => (i * 2654435761) >>> 24)));
    pack.entry({ name: 'data/tenants/t/store.db' }, Buffer.alloc(150_000, 7));
    pack.finalize();
    const full = join(dir, 'full.tar.gz');
    await pipeline(pack, createGzip(), createWriteStream(full));
    const bytes = readFileSync(full);
    const step = Math.max(1, Math.floor(bytes.length / 60));
    for (let cut = 1; cut < bytes.length; cut += step) {
      const cutPath = join(dir, `cut-${cut}.tar.gz`);
      writeFileSync(cutPath, bytes.subarray(0, cut));
      const out = mkdtempSync(join(dir, 'x-'));
      const r = await readTarGz(cutPath, { extractTo: out });
      expect([cut, r.complete]).toEqual([cut, false]);
      expect(r.findings.at(-1)).toMatchObject({ problem: 'corrupt', reason: expect.stringMatching(/^the archive cannot be read as tar\.gz: /) });
    }
  });
});

describe('an archive written the way a live copy writes it (size at open, then copy to end of file)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-torn-'));

  it('names the file that grew, in plain words, when the gzip stream itself is intact', async () => {
    const src = join(dir, 'store.db-wal');
    writeFileSync(src, Buffer.alloc(3000, 7));
    const out = join(dir, 'torn.tar.gz');
    const w = new LiveTarWriter(out);
    await w.bytes('backup.json', Buffer.from('{}'));
    // The file grows between open and copy, as a WAL does while the server commits.
    const grew = await w.file('data/tenants/t1/store.db-wal', src, () => appendFileSync(src, Buffer.alloc(5000, 9)));
    await w.bytes('data/tenants/t1/store.db', Buffer.alloc(1024, 1));
    await w.finish();
    expect(grew).toBe(5000);
    const r = await readTarGz(out, { extractTo: freshDirIn(dir) });
    expect(r.complete).toBe(false);
    expect(r.findings).toEqual([
      { entry: 'data/tenants/t1/store.db-wal', problem: 'torn', reason: 'this file grew while it was copied (the archive holds more of it than its header announced, so nothing after it can be read); take the backup again' },
    ]);
  });

  it('reads the same writer\'s archive when nothing grew, a -wal before its database included', async () => {
    const src = join(dir, 'still.db');
    writeFileSync(src, Buffer.alloc(3000, 7));
    const out = join(dir, 'still.tar.gz');
    const w = new LiveTarWriter(out);
    await w.bytes('backup.json', Buffer.from('{}'));
    await w.file('data/x.db-wal', src);
    await w.file('data/x.db', src);
    await w.finish();
    const r = await readTarGz(out, { extractTo: freshDirIn(dir) });
    expect(r.findings).toEqual([]);
    expect(r.entries.map((e) => e.name)).toEqual(['backup.json', 'data/x.db-wal', 'data/x.db']);
  });

  it('calls a bad header in a damaged gzip stream corruption, not growth', async () => {
    const src = join(dir, 'g.db');
    writeFileSync(src, randomBytes(200_000));
    const out = join(dir, 'both.tar.gz');
    const w = new LiveTarWriter(out);
    await w.bytes('backup.json', Buffer.from('{}'));
    await w.file('data/g.db', src, () => appendFileSync(src, randomBytes(700)));
    await w.bytes('data/after', Buffer.alloc(10));
    await w.finish();
    const bytes = readFileSync(out);
    const cut = join(dir, 'both-cut.tar.gz');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 30));
    const r = await readTarGz(cut);
    expect(r.findings.map((f) => f.problem)).toEqual(['corrupt']);
  });
});

function freshDirIn(parent: string): string {
  return mkdtempSync(join(parent, 'x-'));
}
