import { basename } from 'node:path';

/** Longest name quoted in a note: a manifest may hold any string there. */
const SHOWN = 200;

/**
 * The manifest records the archive's file name at capture time. A drill of a
 * file by another name (renamed, copied, rotated, or a manifest that came with
 * another archive) says so, as a note: never a check, since the name is the
 * user's to choose and the content is judged by its sha256 alone.
 */
export function archiveNameNote(archivePath: string, recorded: string): string | undefined {
  const actual = basename(archivePath);
  if (actual === recorded) return undefined;
  return `the manifest was captured for an archive named ${quote(recorded)}; this file is ${quote(actual)} (the verdict rests on its content, by sha256, not on its name)`;
}

function quote(name: string): string {
  return JSON.stringify(name.length > SHOWN ? `${name.slice(0, SHOWN)}...` : name);
}
