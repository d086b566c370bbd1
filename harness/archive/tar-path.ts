import { posix } from 'node:path';

/**
 * Judges one tar entry's name (and link target) without touching the disk:
 * an entry may only ever land inside the folder it is extracted to.
 * Returns the normalised relative name, or why it is refused.
 */
export type PathVerdict = { ok: true; name: string } | { ok: false; problem: 'absolute-path' | 'parent-traversal' | 'bad-name'; reason: string };

export function judgeEntryName(raw: string): PathVerdict {
  if (raw.includes('\0')) return { ok: false, problem: 'bad-name', reason: 'the name contains a NUL byte' };
  if (raw === '') return { ok: false, problem: 'bad-name', reason: 'the name is empty' };
  // Absolute in POSIX or Windows form: extracting it would write wherever it says.
  if (raw.startsWith('/') || raw.startsWith('\\') || /^[A-Za-z]:/.test(raw)) {
    return { ok: false, problem: 'absolute-path', reason: 'absolute path: it would be written outside the target folder' };
  }
  const parts = raw.split(/[\\/]+/);
  if (parts.includes('..')) return { ok: false, problem: 'parent-traversal', reason: 'the path climbs out with "..": it would be written outside the target folder' };
  const name = parts.filter((p) => p !== '' && p !== '.').join('/');
  if (name === '') return { ok: true, name: '.' };
  return { ok: true, name };
}

/**
 * Where a link would point, relative to the extraction root, or undefined when
 * it points outside it. Symbolic links resolve from the entry's own folder,
 * hard links from the archive root.
 */
export function linkTargetInside(entryName: string, linkname: string, kind: 'symlink' | 'link'): string | undefined {
  if (linkname === '' || linkname.includes('\0')) return undefined;
  if (linkname.startsWith('/') || linkname.startsWith('\\') || /^[A-Za-z]:/.test(linkname)) return undefined;
  const base = kind === 'symlink' ? posix.dirname(entryName) : '.';
  const joined = posix.normalize(posix.join(base, linkname.replace(/\\/g, '/')));
  if (joined === '..' || joined.startsWith('../') || joined.startsWith('/')) return undefined;
  return joined;
}
