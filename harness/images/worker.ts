import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { EnvironmentError } from '../errors.ts';
import { TOOL_VERSION } from '../version.ts';
import { ensureImage, type BuiltImage, type EnsureImageOptions } from './build.ts';
import type { ImageRecipe } from './recipe.ts';

/**
 * restore-drill's own worker image: the CLI as it is installed here, to run on
 * fleet nodes (a Swarm task, a Kubernetes Job, a CI job) with that node's
 * engine socket mounted. Made from this host's own files, so it is exactly the
 * tool that submits: the host's `node` binary (process.execPath), the CLI's
 * sources, its production node_modules with the native modules built here,
 * native helpers the profiles built (executables under a `target/release/` of
 * their crates), and the image recipes (docker/). No registry, no download.
 *
 * The recipe hash covers everything copied that can change the result: each
 * source file's bytes and mode, the lock file (which pins every package), the
 * native modules' and helpers' bytes, and the node binary's bytes.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOCKERFILE = new URL('../../docker/worker/Dockerfile', import.meta.url);
/** Top-level folders and files of the CLI that the worker runs (tests, benches and docs are left out). */
const SOURCE_DIRS = ['bin', 'harness', 'scenarios', 'docker', 'schema'];
const SOURCE_FILES = ['package.json', 'package-lock.json', 'tsconfig.json'];
/** Folders never copied from the sources: build output (except its release executables), caches. */
const SKIP_DIRS = new Set(['node_modules', '.cache', 'target']);

export interface WorkerFiles {
  /** Paths relative to the project root, each a regular file, sorted. */
  sources: string[];
  /** Package folders (node_modules/...) of the production closure. */
  packages: string[];
  /** Native files (ELF): helpers and Node addons, relative to the project root. */
  native: string[];
  /** Production packages that load a native addon, by name (checked to load in the image). */
  nativeModules: string[];
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

function isElf(path: string): boolean {
  try {
    const b = readFileSync(path).subarray(0, 4);
    return b.length === 4 && b[0] === 0x7f && b.toString('latin1', 1, 4) === 'ELF';
  } catch {
    return false;
  }
}

function walk(root: string, rel: string, out: string[]): void {
  for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) {
      if (e.name === 'target') {
        // A crate's build output: only its release executables are the helper the profile runs.
        const release = join(root, p, 'release');
        if (existsSync(release)) {
          for (const f of readdirSync(release, { withFileTypes: true })) {
            if (f.isFile() && statSync(join(release, f.name)).mode & 0o111 && isElf(join(release, f.name))) out.push(`${p}/release/${f.name}`);
          }
        }
        continue;
      }
      if (!SKIP_DIRS.has(e.name)) walk(root, p, out);
    } else if (e.isFile()) out.push(p);
  }
}

/** The production closure from the lock file: every installed package not marked dev-only, type packages left out. */
function productionPackages(root: string): string[] {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages?: Record<string, { dev?: boolean; devOptional?: boolean }> };
  if (!lock.packages) throw new EnvironmentError('package-lock.json has no "packages" map (lockfile v2 or later is needed to build the worker image)', 'RD_IMAGE_BUILD');
  return Object.entries(lock.packages)
    .filter(([k, v]) => k.startsWith('node_modules/') && !v.dev && !v.devOptional && !/(^|\/)node_modules\/@types\//.test(k))
    .map(([k]) => k)
    .filter((k) => existsSync(join(root, k, 'package.json')))
    .sort();
}

/**
 * What a package folder contributes: all its files except, for packages with a
 * native build (binding.gyp), the C sources and build intermediates (only the
 * built `.node` addons of build/Release are kept). Nested node_modules are packages of their own.
 */
function packageFiles(root: string, pkg: string): string[] {
  const native = existsSync(join(root, pkg, 'binding.gyp'));
  const out: string[] = [];
  const rec = (rel: string) => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const p = `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (e.name === 'node_modules' && rel === pkg) continue;
        if (native && rel === pkg && (e.name === 'deps' || e.name === 'src')) continue;
        rec(p);
      } else if (e.isFile() || e.isSymbolicLink()) {
        if (native && p.startsWith(`${pkg}/build/`) && !(p.startsWith(`${pkg}/build/Release/`) && p.endsWith('.node') && !p.slice(pkg.length + 15).includes('/'))) continue;
        out.push(p);
      }
    }
  };
  rec(pkg);
  return out;
}

let cachedFiles: { root: string; files: WorkerFiles; pkgFiles: string[] } | undefined;

/** The files the worker image is made of (cached per process: the installed CLI does not change under it). */
export function workerFiles(root = ROOT): WorkerFiles & { pkgFiles: string[] } {
  if (cachedFiles?.root === root) return { ...cachedFiles.files, pkgFiles: cachedFiles.pkgFiles };
  const sources: string[] = [];
  for (const d of SOURCE_DIRS) if (existsSync(join(root, d))) walk(root, d, sources);
  for (const f of SOURCE_FILES) if (existsSync(join(root, f))) sources.push(f);
  sources.sort();
  const packages = productionPackages(root);
  const pkgFiles = packages.flatMap((p) => packageFiles(root, p)).sort();
  const native = [...sources.filter((s) => s.includes('/target/release/')), ...pkgFiles.filter((f) => f.endsWith('.node'))];
  const nativeModules = packages
    .filter((p) => pkgFiles.some((f) => f.startsWith(`${p}/build/`) && f.endsWith('.node')))
    .map((p) => p.slice(p.lastIndexOf('node_modules/') + 'node_modules/'.length));
  const files = { sources, packages, native, nativeModules };
  cachedFiles = { root, files, pkgFiles };
  return { ...files, pkgFiles };
}

let nodeDigest: { path: string; size: number; mtimeMs: number; sha: string } | undefined;

function nodeBinarySha(path: string): string {
  const st = statSync(path);
  if (nodeDigest?.path === path && nodeDigest.size === st.size && nodeDigest.mtimeMs === st.mtimeMs) return nodeDigest.sha;
  const sha = sha256(readFileSync(path));
  nodeDigest = { path, size: st.size, mtimeMs: st.mtimeMs, sha };
  return sha;
}

/** The host's glibc (the native parts were built against it); the image build checks the base has it or newer. */
function hostGlibc(): string {
  const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
  const v = header?.glibcVersionRuntime;
  if (!v) throw new EnvironmentError('this host runs no glibc (musl?): the worker image copies the host node binary and needs a glibc host', 'RD_IMAGE_BUILD');
  return v;
}

/** Copies a file keeping its mode and times (a native helper is used only when not older than its sources). */
function copyKeep(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  const st = lstatSync(from);
  copyFileSync(from, to);
  chmodSync(to, st.mode & 0o7777);
  utimesSync(to, st.atime, st.mtime);
}

/** The worker image's recipe: restore-drill/worker:<tool version>-<hash>. */
export function workerImage(opts: { root?: string; nodeBinary?: string } = {}): ImageRecipe {
  const root = opts.root ?? ROOT;
  const nodeBinary = opts.nodeBinary ?? process.execPath;
  const files = workerFiles(root);
  const h = createHash('sha256');
  for (const f of files.sources) h.update(`${f}\0${statSync(join(root, f)).mode & 0o777}\0${sha256(readFileSync(join(root, f)))}\0`);
  for (const f of files.native) h.update(`native\0${f}\0${sha256(readFileSync(join(root, f)))}\0`);
  h.update(`packages\0${files.packages.join('\n')}\0`);
  const glibc = hostGlibc();
  return {
    name: 'worker',
    version: TOOL_VERSION,
    dockerfile: readFileSync(DOCKERFILE, 'utf8'),
    buildArgs: { HOST_GLIBC: glibc },
    inputs: {
      files: h.digest('hex'),
      node: `${process.version} ${nodeBinarySha(nodeBinary)}`,
    },
    labels: { 'io.restore-drill.worker': TOOL_VERSION },
    prepareContext: async (context, say) => {
      say(`copying the CLI (${files.sources.length} source files, ${files.packages.length} production packages) and ${nodeBinary} into the worker image`);
      copyKeep(nodeBinary, join(context, 'node'));
      const app = join(context, 'app');
      for (const f of [...files.sources, ...files.pkgFiles]) {
        const from = join(root, f);
        if (lstatSync(from).isSymbolicLink()) continue; // .bin links: made again below where needed
        copyKeep(from, join(app, f));
      }
      writeFileSync(join(app, '.native-files'), files.native.map((f) => `/opt/restore-drill/${f}`).join('\n') + '\n');
      writeFileSync(join(app, '.native-modules'), JSON.stringify(files.nativeModules));
    },
  };
}

/** The worker image, built here when no image of its recipe exists yet. */
export function ensureWorkerImage(docker: Docker, opts: EnsureImageOptions = {}): Promise<BuiltImage> {
  return ensureImage(docker, workerImage(), opts);
}
