// Starting the CLI from its TypeScript sources costs about a CPU-second before
// any work: tsx's loader thread resolves and transforms every source file at
// every start. So the sources are bundled into one JavaScript file, cached
// under node_modules/.cache, and that file is used only while every source it
// was made from is unchanged byte for byte (a sha256 of each, checked at every
// start, about 10 ms). Nothing is built by hand, and a stale bundle never runs:
// any change to a source makes the next start bundle again. Whenever a bundle
// cannot be made or trusted, the caller runs the sources through tsx as before.
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, isAbsolute, join, normalize, relative, sep } from 'node:path';
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

/**
 * Why a bundle cannot be made or trusted, under its code from ERROR_CODES
 * (harness/errors.ts): this file runs before TypeScript can be loaded, so it
 * cannot import the harness's classes. cliBundle catches it and says it (the
 * CLI then runs from the sources); it never reaches a user as a bare Error.
 */
export class BundleError extends Error {
  code = 'RD_CLI_BUNDLE';
  name = 'BundleError';
}

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

// The cache trusts nothing it reads back: whoever can write the cache folder
// could otherwise point the CLI at code anywhere. The index names a bundle only
// by the one name build gives it (cli-<first 16 hex of its sha256>.mjs, no
// folder), every source it lists must be a plain path below the project, and
// every file is read only if it is a regular file, no symbolic link, of a
// sensible size. An index that fails any of this is no cache: the CLI is
// bundled again, which rewrites it.
const BUNDLE_NAME = /^cli-[0-9a-f]{16}\.mjs$/;
const SHA256 = /^[0-9a-f]{64}$/;
const INDEX_MAX_BYTES = 1 << 20;
const SOURCE_MAX_BYTES = 16 << 20;
const BUNDLE_MAX_BYTES = 64 << 20;

/**
 * A regular file's bytes, or null: opened without following a symbolic link
 * and without blocking (a FIFO put in its place returns at once), checked on
 * the open descriptor, at most maxBytes.
 */
function readRegular(path, maxBytes) {
  let fd;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > maxBytes) return null;
    const buf = Buffer.allocUnsafe(st.size + 1);
    let n = 0;
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n === buf.length) return null; // it grew while being read
    }
    return buf.subarray(0, n);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** The cache folder, made if missing; it must be a folder itself, not a symbolic link to one elsewhere. */
function cacheFolder(cacheDir) {
  mkdirSync(cacheDir, { recursive: true });
  if (!lstatSync(cacheDir).isDirectory()) throw new BundleError(`the cache folder ${cacheDir} is a symbolic link or not a folder`);
}

/** Whether `rel` names a file below `root` by a plain path: relative, no "..", no symbolic link on the way. */
function insideRoot(root, rel) {
  if (typeof rel !== 'string' || rel === '' || isAbsolute(rel) || normalize(rel) !== rel || rel.split(sep).includes('..')) return false;
  try {
    return realpathSync(join(root, rel)) === join(realpathSync(root), rel);
  } catch {
    return false;
  }
}

/** The cached bundle's URL if it was made with this key from the sources as they are now. */
function cached(cacheDir, key) {
  try {
    if (!lstatSync(cacheDir).isDirectory()) return null;
  } catch {
    return null;
  }
  const text = readRegular(indexPath(cacheDir), INDEX_MAX_BYTES);
  if (!text) return null;
  let index;
  try {
    index = JSON.parse(text.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof index !== 'object' || index === null || Array.isArray(index)) return null;
  for (const k of Object.keys(key)) if (index[k] !== key[k]) return null;
  if (typeof index.inputs !== 'object' || index.inputs === null || Array.isArray(index.inputs)) return null;
  if (typeof index.bundleSha256 !== 'string' || !SHA256.test(index.bundleSha256)) return null;
  if (index.bundle !== `cli-${index.bundleSha256.slice(0, 16)}.mjs` || !BUNDLE_NAME.test(index.bundle)) return null;
  const inputs = Object.entries(index.inputs);
  if (inputs.length === 0) return null;
  for (const [rel, hash] of inputs) {
    if (!insideRoot(key.root, rel)) return null;
    const bytes = readRegular(join(key.root, rel), SOURCE_MAX_BYTES);
    if (!bytes || sha256(bytes) !== hash) return null;
  }
  const file = join(cacheDir, index.bundle);
  const bundle = readRegular(file, BUNDLE_MAX_BYTES);
  if (!bundle || sha256(bundle) !== index.bundleSha256) return null;
  return pathToFileURL(file).href;
}

/**
 * Writes a file in the cache under a temporary name, then renames it into
 * place: a process starting meanwhile never reads half a file, and neither the
 * write (exclusive create) nor the rename follows a symbolic link planted there.
 */
function writeInCache(cacheDir, name, bytes) {
  const tmp = join(cacheDir, `${name}.${process.pid}.tmp`);
  rmSync(tmp, { force: true });
  writeFileSync(tmp, bytes, { flag: 'wx' });
  renameSync(tmp, join(cacheDir, name));
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
        if (rel.startsWith('..') || isAbsolute(rel)) throw new BundleError(`${args.path} is outside the project`);
        const loader = LOADERS[extname(args.path)];
        if (!loader) throw new BundleError(`${rel}: no loader for this kind of file`);
        const bytes = readFileSync(args.path);
        inputs[rel] = sha256(bytes);
        const text = bytes.toString('utf8');
        if (OTHER_META.test(text)) throw new BundleError(`${rel} uses import.meta beyond import.meta.url`);
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
    if (!(rel in inputs)) throw new BundleError(`${rel} was bundled without being recorded`);
  }
  const code = result.outputFiles[0].contents;
  const bundleSha256 = sha256(code);
  const bundle = `cli-${bundleSha256.slice(0, 16)}.mjs`;
  cacheFolder(cacheDir);
  // Several processes bundling at once all write the same.
  writeInCache(cacheDir, bundle, code);
  writeInCache(cacheDir, 'cli.json', `${JSON.stringify({ ...key, inputs, bundle, bundleSha256 }, null, 1)}\n`);
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
