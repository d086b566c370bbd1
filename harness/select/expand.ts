import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from '../errors.ts';

/**
 * Files in a backup folder that are not archives: manifests, their
 * signatures, hidden files, and the secrets and keys operators keep beside
 * their backups (`*.env`, `*.key`, `*.pem`, `*.pub`: operator docs often say to
 * back up a secrets file with the database). Everything else is an archive, and one
 * without a manifest is reported unproven rather than skipped.
 */
const NOT_ARCHIVES = ['.manifest.json', '.dsse.json', '.env', '.key', '.pem', '.pub'];

export function isArchiveCandidate(name: string): boolean {
  return !name.startsWith('.') && !NOT_ARCHIVES.some((ext) => name.endsWith(ext));
}

/**
 * Arguments to archive paths. A file is itself; a folder stands for the
 * archives in it (every file but manifests, signatures and hidden files: an
 * archive without a manifest is still listed, so it is reported unproven and
 * not silently left out); a glob in the last path segment (`*`, `?`, `[...]`,
 * for units and crontabs that pass no shell) matches files there. Each result
 * keeps the folder it came from, for --latest per folder.
 */
export function expandArchives(args: string[]): Array<{ path: string; folder: string; listed: boolean }> {
  // listed: found by listing a folder or a glob (not named one by one).
  const out = new Map<string, { folder: string; listed: boolean }>();
  for (const arg of args) {
    const abs = resolve(arg);
    if (/[*?[]/.test(basename(abs))) {
      const dir = dirname(abs);
      if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${arg}: folder ${dir} does not exist`, 'RD_NO_ARCHIVE');
      const re = globToRegExp(basename(abs));
      const hits = readdirSync(dir).filter((f) => re.test(f) && isArchiveCandidate(f) && statSync(join(dir, f)).isFile());
      if (hits.length === 0) throw new UsageError(`${arg} matches no archive`, 'RD_NO_ARCHIVE');
      for (const f of hits.sort()) out.set(join(dir, f), { folder: dir, listed: true });
    } else if (existsSync(abs) && statSync(abs).isDirectory()) {
      const hits = readdirSync(abs).filter((f) => isArchiveCandidate(f) && statSync(join(abs, f)).isFile());
      if (hits.length === 0) throw new UsageError(`${arg} holds no archive`, 'RD_NO_ARCHIVE');
      for (const f of hits.sort()) out.set(join(abs, f), { folder: abs, listed: true });
    } else {
      out.set(abs, { folder: dirname(abs), listed: false });
    }
  }
  return [...out].map(([path, o]) => ({ path, ...o }));
}

export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 1);
      if (close < 0) re += '\\[';
      else {
        re += `[${glob.slice(i + 1, close).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
