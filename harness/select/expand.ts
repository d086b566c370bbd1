import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from '../errors.ts';
import { manifestPathFor } from '../manifest/load.ts';

/**
 * Arguments to archive paths. A file is itself; a folder stands for the
 * archives in it (files with a manifest beside them); a glob in the last path
 * segment (`*`, `?`, `[...]`, for units and crontabs that pass no shell) matches
 * files there. Each result keeps the folder it came from, for --latest per folder.
 */
export function expandArchives(args: string[]): Array<{ path: string; folder: string }> {
  const out = new Map<string, string>();
  for (const arg of args) {
    const abs = resolve(arg);
    if (/[*?[]/.test(basename(abs))) {
      const dir = dirname(abs);
      if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${arg}: folder ${dir} does not exist`, 'RD_NO_ARCHIVE');
      const re = globToRegExp(basename(abs));
      const hits = readdirSync(dir).filter((f) => re.test(f) && !f.endsWith('.manifest.json') && statSync(join(dir, f)).isFile());
      if (hits.length === 0) throw new UsageError(`${arg} matches no archive`, 'RD_NO_ARCHIVE');
      for (const f of hits.sort()) out.set(join(dir, f), dir);
    } else if (existsSync(abs) && statSync(abs).isDirectory()) {
      const hits = readdirSync(abs).filter((f) => !f.endsWith('.manifest.json') && statSync(join(abs, f)).isFile() && existsSync(manifestPathFor(join(abs, f))));
      if (hits.length === 0) throw new UsageError(`${arg} holds no archive with a manifest beside it`, 'RD_NO_ARCHIVE');
      for (const f of hits.sort()) out.set(join(abs, f), abs);
    } else {
      out.set(abs, dirname(abs));
    }
  }
  return [...out].map(([path, folder]) => ({ path, folder }));
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
