// Starting the CLI from its TypeScript sources costs about a CPU-second before
// any work: tsx's loader thread resolves and transforms every source file at
// every start. So the sources are bundled into one JavaScript file, cached
// under node_modules/.cache, and that file is used only while every source it
// was made from is unchanged byte for byte (a sha256 of each, checked at every
// start, about 10 ms). Nothing is built by hand, and a stale bundle never runs:
// any change to a source makes the next start bundle again. Whenever a bundle
// cannot be made or trusted, the caller runs the sources through tsx as before.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// Raised whenever what goes into a bundle changes (options, the source rewrite below).
const FORMAT = 1;
const LOADERS = { '.ts': 'ts', '.mts': 'ts', '.js': 'js', '.mjs': 'js', '.json': 'json' };
// A bundle is one file, so import.meta.url would name the bundle instead of each
// source: every use is rewritten to the source's own URL. Other import.meta
// properties are not rewritten, so a source that uses one is never bundled.
const META_URL = /\bimport\.meta\.url\b/g;
const OTHER_META = /\bimport\.meta\b(?!\.url\b)/;
// Old bundles are removed only once no starting process could still be about to load them.
const PRUNE_AFTER_MS = 10 * 60 * 1000;

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

// The esbuild this module imports (not one the sources' folder might hold).
function esbuildVersion() {
  return JSON.parse(readFileSync(createRequire(import.meta.url).resolve('esbuild/package.json'), 'utf8')).version;
}

/**
 * The URL of an up-to-date bundle of `entry` (a path under `root`), bundling
 * it first if the cached one is missing or was made from other sources; null
 * when no bundle can be made or kept (the reason goes to `say`).
 * @param {{ root?: string, entry?: string, cacheDir?: string, say?: (line: string) => void }} [options]
 * @returns {Promise<{ url: string, built: boolean } | null>}
 */
export async function cliBundle(options = {}) {
  const root = options.root ?? PROJECT_ROOT;
  const entry = options.entry ?? 'bin/main.ts';
  const cacheDir = options.cacheDir ?? join(root, 'node_modules', '.cache', 'restore-drill');
  const say = options.say ?? (() => {});
  const key = { format: FORMAT, root, entry, esbuild: '' };
  try {
    key.esbuild = esbuildVersion();
    const hit = cached(cacheDir, key);
    if (hit) return { url: hit, built: false };
    say('sources changed or no bundle yet: bundling the CLI');
    return { url: await build(cacheDir, key, say), built: true };
  } catch (e) {
    say(`running from the sources (no bundle: ${e instanceof Error ? e.message : String(e)})`);
    return null;
  }
}

function indexPath(cacheDir) {
  return join(cacheDir, 'cli.json');
}

/** The cached bundle's URL if it was made with this key from the sources as they are now. */
function cached(cacheDir, key) {
  let index;
  try {
    index = JSON.parse(readFileSync(indexPath(cacheDir), 'utf8'));
  } catch {
    return null;
  }
  for (const k of Object.keys(key)) if (index[k] !== key[k]) return null;
  if (typeof index.inputs !== 'object' || index.inputs === null || typeof index.bundle !== 'string') return null;
  for (const [rel, hash] of Object.entries(index.inputs)) {
    let bytes;
    try {
      bytes = readFileSync(join(key.root, rel));
    } catch {
      return null;
    }
    if (sha256(bytes) !== hash) return null;
  }
  const file = join(cacheDir, index.bundle);
  try {
    if (sha256(readFileSync(file)) !== index.bundleSha256) return null;
  } catch {
    return null;
  }
  return pathToFileURL(file).href;
}

async function build(cacheDir, key, say) {
  const esbuild = await import('esbuild');
  // Each source is hashed as read for the bundle, so the index records exactly
  // the bytes the bundle was made from, even if a file changes meanwhile.
  const inputs = {};
  const sources = {
    name: 'restore-drill-sources',
    setup(b) {
      b.onLoad({ filter: /.*/ }, (args) => {
        const rel = relative(key.root, args.path);
        if (rel.startsWith('..') || isAbsolute(rel)) throw new Error(`${args.path} is outside the project`);
        const loader = LOADERS[extname(args.path)];
        if (!loader) throw new Error(`${rel}: no loader for this kind of file`);
        const bytes = readFileSync(args.path);
        inputs[rel] = sha256(bytes);
        const text = bytes.toString('utf8');
        if (OTHER_META.test(text)) throw new Error(`${rel} uses import.meta beyond import.meta.url`);
        return { contents: text.replace(META_URL, JSON.stringify(pathToFileURL(args.path).href)), loader };
      });
    },
  };
  const result = await esbuild.build({
    absWorkingDir: key.root,
    entryPoints: [key.entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [sources],
  });
  for (const rel of Object.keys(result.metafile.inputs)) {
    if (!(rel in inputs)) throw new Error(`${rel} was bundled without being recorded`);
  }
  const code = result.outputFiles[0].contents;
  const bundleSha256 = sha256(code);
  const bundle = `cli-${bundleSha256.slice(0, 16)}.mjs`;
  mkdirSync(cacheDir, { recursive: true });
  // Written under a temporary name and renamed, so a process starting meanwhile
  // never reads half a file; several processes bundling at once all write the same.
  const tmp = `.${process.pid}.tmp`;
  writeFileSync(join(cacheDir, bundle + tmp), code);
  renameSync(join(cacheDir, bundle + tmp), join(cacheDir, bundle));
  writeFileSync(indexPath(cacheDir) + tmp, `${JSON.stringify({ ...key, inputs, bundle, bundleSha256 }, null, 1)}\n`);
  renameSync(indexPath(cacheDir) + tmp, indexPath(cacheDir));
  prune(cacheDir, bundle);
  say(`bundled ${Object.keys(inputs).length} sources into ${join(cacheDir, bundle)}`);
  return pathToFileURL(join(cacheDir, bundle)).href;
}

function prune(cacheDir, keep) {
  const now = Date.now();
  for (const name of readdirSync(cacheDir)) {
    if (name === keep || !/^cli-[0-9a-f]{16}\.mjs(\.\d+\.tmp)?$/.test(name)) continue;
    try {
      if (now - statSync(join(cacheDir, name)).mtimeMs > PRUNE_AFTER_MS) rmSync(join(cacheDir, name), { force: true });
    } catch {
      // another process pruned it first
    }
  }
}
