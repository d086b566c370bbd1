import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cliBundle } from '../../bin/cli-bundle.mjs';

// A small project of the CLI's shape: an entry importing a module that finds a
// data file beside itself through import.meta.url, as the harness finds its
// Dockerfiles and scripts.
let root: string;
let cacheDir: string;
const said: string[] = [];
const say = (l: string) => void said.push(l);

function write(rel: string, text: string): void {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), text);
}

function runBundle(url: string): string {
  const r = spawnSync(process.execPath, [fileURLToPath(url)], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.trim();
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'restore-drill-bundle-'));
  cacheDir = join(root, 'cache');
  said.length = 0;
  write('lib/data.txt', 'beside the module');
  write('lib/where.ts', "import { readFileSync } from 'node:fs';\nexport const data: string = readFileSync(new URL('./data.txt', import.meta.url), 'utf8');\nexport const word = 'one';\n");
  write('bin/main.ts', "import { data, word } from '../lib/where.ts';\nconsole.log(`${word} ${data}`);\n");
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('the CLI bundle', () => {
  it('is made once, reused while the sources are unchanged, and finds files beside each source', async () => {
    const first = await cliBundle({ root, cacheDir, say });
    expect(first?.built).toBe(true);
    expect(runBundle(first!.url)).toBe('one beside the module');
    const again = await cliBundle({ root, cacheDir, say });
    expect(again).toEqual({ url: first!.url, built: false });
    const index = JSON.parse(readFileSync(join(cacheDir, 'cli.json'), 'utf8')) as { inputs: Record<string, string> };
    expect(Object.keys(index.inputs).sort()).toEqual(['bin/main.ts', 'lib/where.ts']);
  });

  it('is made again when a source changes by one byte, even with its size and time kept', async () => {
    const first = await cliBundle({ root, cacheDir, say });
    const file = join(root, 'lib/where.ts');
    const before = statSync(file);
    writeFileSync(file, readFileSync(file, 'utf8').replace("'one'", "'two'"));
    utimesSync(file, before.atime, before.mtime);
    expect(statSync(file).size).toBe(before.size);
    const second = await cliBundle({ root, cacheDir, say });
    expect(second?.built).toBe(true);
    expect(second!.url).not.toBe(first!.url);
    expect(runBundle(second!.url)).toBe('two beside the module');
  });

  it('is made again when the bundle file was altered, or a source it was made from is gone', async () => {
    const first = await cliBundle({ root, cacheDir, say });
    writeFileSync(fileURLToPath(first!.url), 'console.log("altered")\n');
    const second = await cliBundle({ root, cacheDir, say });
    expect(second?.built).toBe(true);
    expect(runBundle(second!.url)).toBe('one beside the module');

    rmSync(join(root, 'lib/where.ts'));
    // The entry no longer builds: no bundle, so the caller runs the sources (and meets the same error there).
    expect(await cliBundle({ root, cacheDir, say })).toBeNull();
    expect(said.at(-1)).toMatch(/running from the sources/);
  });

  it('is not made from a source using import.meta beyond its url (it would name the bundle, not the source)', async () => {
    write('lib/where.ts', "export const data: string = import.meta.dirname;\nexport const word = 'one';\n");
    expect(await cliBundle({ root, cacheDir, say })).toBeNull();
    expect(said.at(-1)).toMatch(/lib\/where\.ts uses import\.meta beyond import\.meta\.url/);
  });

  it('is not made where its cache cannot be written', async () => {
    writeFileSync(cacheDir, 'a file where the cache folder should be');
    expect(await cliBundle({ root, cacheDir, say })).toBeNull();
    expect(said.at(-1)).toMatch(/running from the sources/);
  });
});

describe('the bundle cache, written by someone else', () => {
  type Index = { bundle: string; bundleSha256: string; inputs: Record<string, string> };
  const indexFile = () => join(cacheDir, 'cli.json');
  const readIndex = () => JSON.parse(readFileSync(indexFile(), 'utf8')) as Index;
  const writeIndex = (index: Index) => writeFileSync(indexFile(), JSON.stringify(index));
  const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');
  /** A good bundle, then `tamper`; the next start must bundle again, inside the cache, and run the real sources. */
  async function refused(tamper: (index: Index) => void): Promise<void> {
    const first = await cliBundle({ root, cacheDir, say });
    tamper(readIndex());
    const next = await cliBundle({ root, cacheDir, say });
    expect(next?.built).toBe(true);
    expect(dirname(fileURLToPath(next!.url))).toBe(cacheDir);
    expect(next!.url).toBe(first!.url);
    expect(runBundle(next!.url)).toBe('one beside the module');
  }
  // Code someone would like the CLI to run, outside the cache folder, its hash duly recorded.
  const evil = () => {
    const code = 'console.log("outside the cache")\n';
    writeFileSync(join(root, 'evil.mjs'), code);
    return { code, sha256: sha(code) };
  };

  it('never runs a bundle the index places outside the cache folder (.., an absolute path)', async () => {
    for (const bundle of ['../evil.mjs', join(root, 'evil.mjs'), `../cli-${'0'.repeat(16)}.mjs`]) {
      await refused((index) => {
        const e = evil();
        writeFileSync(join(root, `cli-${'0'.repeat(16)}.mjs`), e.code);
        writeIndex({ ...index, bundle, bundleSha256: e.sha256 });
      });
    }
  });

  it('never runs a bundle that is a symbolic link leading out of the cache, even under the right name and hash', async () => {
    await refused((index) => {
      const e = evil();
      const name = `cli-${e.sha256.slice(0, 16)}.mjs`;
      symlinkSync(join(root, 'evil.mjs'), join(cacheDir, name));
      writeIndex({ ...index, bundle: name, bundleSha256: e.sha256 });
    });
  });

  it('refuses sources the index names outside the project (.., an absolute path, a link leading out)', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'restore-drill-outside-'));
    try {
      writeFileSync(join(outside, 'x.ts'), 'export {}\n');
      symlinkSync(outside, join(root, 'out'));
      for (const rel of [join('..', basename(outside), 'x.ts'), join(outside, 'x.ts'), 'out/x.ts', 'lib/../lib/where.ts']) {
        // Recorded with the right hash of the file it names: only the path may be what refuses it.
        await refused((index) => writeIndex({ ...index, inputs: { ...index.inputs, [rel]: sha(readFileSync(resolve(root, rel))) } }));
      }
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('treats an index that does not parse, or is not an index, as no cache: it bundles again', async () => {
    for (const text of ['{ nope', '', 'null', '[]', '"cli-0.mjs"', '{"inputs": null}', '\u0000'.repeat(100)]) {
      await refused(() => writeFileSync(indexFile(), text));
    }
    await refused((index) => writeIndex({ ...index, inputs: {} }));
  });

  it('does not wait on an index that is a FIFO, or a folder: it bundles again over it', () => {
    const script = `const { cliBundle } = await import(${JSON.stringify(new URL('../../bin/cli-bundle.mjs', import.meta.url).href)});
      const r = await cliBundle({ root: ${JSON.stringify(root)}, cacheDir: ${JSON.stringify(cacheDir)} });
      console.log(JSON.stringify(r));`;
    for (const make of [() => execFileSync('mkfifo', [indexFile()]), () => mkdirSync(indexFile())]) {
      rmSync(cacheDir, { recursive: true, force: true });
      mkdirSync(cacheDir);
      make();
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
      expect(r.signal).toBeNull(); // a hang would end in SIGTERM from the timeout
      const result = JSON.parse(r.stdout) as { built: boolean; url: string } | null;
      // A FIFO is replaced by the new index; a folder cannot be, so the CLI runs from the sources.
      if (statSync(indexFile()).isDirectory()) expect(result).toBeNull();
      else expect([result?.built, readIndex().bundle]).toEqual([true, basename(fileURLToPath(result!.url))]);
    }
  });

  it('is not used, nor written, through a cache folder that is a symbolic link', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'restore-drill-elsewhere-'));
    try {
      symlinkSync(elsewhere, cacheDir);
      expect(await cliBundle({ root, cacheDir, say })).toBeNull();
      expect(said.at(-1)).toMatch(/cache folder .* is a symbolic link or not a folder/);
      expect(readdirSync(elsewhere)).toEqual([]);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});

describe('the real CLI', () => {
  const cli = (env: Record<string, string>, ...args: string[]) =>
    spawnSync(process.execPath, ['bin/restore-drill.mjs', ...args], { encoding: 'utf8', env: { ...process.env, ...env } });

  it('says the same bundled as from its sources', () => {
    for (const args of [['--version'], ['--help'], ['run', '--help'], ['no-such-command']]) {
      const bundled = cli({ DEBUG: 'restore-drill:cli' }, ...args);
      const sources = cli({ RESTORE_DRILL_BUNDLE: '0' }, ...args);
      expect(bundled.stdout).toBe(sources.stdout);
      expect(bundled.status).toBe(sources.status);
      // The bundled run's stderr also holds the debug lines saying which it ran.
      expect(bundled.stderr.split('\n').filter((l) => !l.includes('restore-drill:cli')).join('\n')).toBe(sources.stderr);
      expect(bundled.stderr).not.toMatch(/running from the sources/);
    }
    expect(cli({}, '--version').stdout.trim()).toBe((JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version);
  });

  it('is bundled from the sources the entry reaches, each recorded by its hash', async () => {
    const bundle = await cliBundle();
    expect(bundle).not.toBeNull();
    expect(await cliBundle()).toEqual({ url: bundle!.url, built: false });
    const index = JSON.parse(readFileSync('node_modules/.cache/restore-drill/cli.json', 'utf8')) as { inputs: Record<string, string> };
    for (const rel of ['bin/main.ts', 'harness/cli.ts', 'scenarios/index.ts', 'scenarios/z4j/chain-walk/native.ts', 'harness/version.ts']) {
      expect(index.inputs[rel], rel).toMatch(/^[0-9a-f]{64}$/);
    }
    // Each import.meta.url names its own source in the bundle, never the bundle.
    const code = readFileSync(fileURLToPath(bundle!.url), 'utf8');
    expect(code).not.toMatch(/import\.meta/);
    expect(code).toContain(JSON.stringify(new URL('../../harness/version.ts', import.meta.url).href));
  });
});
