import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, isAbsolute, join, normalize, resolve } from 'node:path';
import { debug } from '../log.ts';
import { stateDir } from '../paths.ts';
import { ownerAlive } from './owner.ts';
import { OWNER_HOST_LABEL, OWNER_PID_LABEL, ownerHost } from './labels.ts';
import { InternalError } from '../errors.ts';

const PREFIX = 'restore-drill-';
/** A work folder's name: the prefix, its kind (a drill id, "capture"), 12 random hex digits. */
const NAME = /^restore-drill-[A-Za-z0-9-]{1,64}-[0-9a-f]{12}$/;
/** In every work folder: which process owns it, like a container's labels. */
const OWNER_FILE = '.restore-drill-owner.json';
/** A record's name: the owner's pid, then random hex. */
const RECORD = /^(\d+)-[0-9a-f]{12}\.json$/;

/**
 * Where each work folder is recorded while it may exist: a fixed place per user
 * and host (the state dir), so that a sweep finds a killed process's folder
 * whatever TMPDIR either of them ran with.
 */
export function workDirRecords(env: NodeJS.ProcessEnv = process.env): string {
  return join(stateDir(env), 'work-dirs');
}

interface WorkDirOptions {
  /** Where the folder is made (default: TMPDIR). */
  base?: string;
  /** Where it is recorded (default: the state dir's work-dirs). */
  records?: string;
}

/**
 * A private (0700) folder for one drill or capture: it holds a copy of the
 * backup, and for some applications their keys. It is recorded before it is
 * made, and names its owner process, so that if that process is killed before
 * it can remove the folder, the next sweep does, wherever it runs from.
 */
export async function makeWorkDir(kind: string, opts: WorkDirOptions = {}): Promise<string> {
  const records = opts.records ?? workDirRecords();
  // Absolute even under a relative TMPDIR: the record must lead a sweep run from anywhere back here.
  const dir = resolve(opts.base ?? tmpdir(), `${PREFIX}${kind}-${randomBytes(6).toString('hex')}`);
  if (!NAME.test(basename(dir))) throw new InternalError(`work folder kind ${JSON.stringify(kind)} is not letters, digits and dashes`);
  const owner = { [OWNER_PID_LABEL]: String(process.pid), [OWNER_HOST_LABEL]: ownerHost() };
  // All synchronous: no other drill of this process runs between the record and its folder.
  forgetGoneFolders(records);
  const record = remember(records, { ...owner, path: dir });
  try {
    mkdirSync(dir, { mode: 0o700 }); // fails if anything (a planted symlink) has the name
    writeFileSync(join(dir, OWNER_FILE), JSON.stringify(owner), { mode: 0o600 });
  } catch (e) {
    // A folder that cannot name its owner could never be swept: do not leave it.
    rmSync(dir, { recursive: true, force: true });
    if (record) rmSync(record, { force: true });
    throw e;
  }
  if (record) recordOf.set(dir, record);
  return dir;
}

/** This process's records, by folder. */
const recordOf = new Map<string, string>();

/** Removes a work folder and its record (a folder removed otherwise has its record dropped later). */
export async function removeWorkDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  const record = recordOf.get(dir);
  recordOf.delete(dir);
  if (record) await rm(record, { force: true });
}

/**
 * Records a folder about to be made; returns the record's path. A state dir
 * that cannot be written (a read-only home) costs only the record: the folder
 * is still found by a sweep run with the same TMPDIR.
 */
function remember(records: string, entry: Record<string, string>): string | undefined {
  const file = join(records, `${process.pid}-${randomBytes(6).toString('hex')}.json`);
  try {
    mkdirSync(records, { recursive: true, mode: 0o700 });
    writeFileSync(file, JSON.stringify(entry), { mode: 0o600, flag: 'wx' });
    return file;
  } catch (e) {
    debug.runtime('work folder %s not recorded in %s: %s', entry.path, records, e);
    return undefined;
  }
}

/** Drops this process's records of folders it has since removed (a long run leaves one record per drill otherwise). */
function forgetGoneFolders(records: string): void {
  for (const name of list(records)) {
    if (RECORD.exec(name)?.[1] !== String(process.pid)) continue;
    const entry = readJson(join(records, name));
    if (typeof entry?.path === 'string' && !exists(entry.path)) {
      rmSync(join(records, name), { force: true });
      recordOf.delete(entry.path);
    }
  }
}

/**
 * Removes work folders whose owner process is gone (all of them with `all`):
 * those recorded in the state dir, wherever they were made, and those in
 * TMPDIR. Returns how many.
 */
export function sweepWorkDirs(opts: WorkDirOptions & { all?: boolean } = {}): number {
  return sweepRecorded(opts.records ?? workDirRecords(), opts.all === true) + sweepBase(opts.base ?? tmpdir(), opts.all === true);
}

/**
 * A record only says where to look; it is never trusted to say what may be
 * removed. A folder goes only if its name is a work folder's, it is a real
 * folder (not a link) of this user, and its own owner file names the same dead
 * process as the record. A forged or stale record is dropped, removing nothing.
 */
function sweepRecorded(records: string, all: boolean): number {
  let removed = 0;
  for (const name of list(records)) {
    const m = RECORD.exec(name);
    if (!m) continue;
    const file = join(records, name);
    const entry = readJson(file);
    if (!entry) {
      // Unreadable: a writer killed mid-write made no folder yet (the record comes first).
      if (!ownerAlive({ [OWNER_PID_LABEL]: m[1]!, [OWNER_HOST_LABEL]: ownerHost() })) rmSync(file, { force: true });
      continue;
    }
    const owner = { [OWNER_PID_LABEL]: String(entry[OWNER_PID_LABEL]), [OWNER_HOST_LABEL]: String(entry[OWNER_HOST_LABEL]) };
    if (owner[OWNER_HOST_LABEL] !== ownerHost()) continue; // another host's (a shared home): not ours to judge
    if (!all && ownerAlive(owner)) continue;
    if (removeRecorded(entry.path, owner)) removed++;
    rmSync(file, { force: true });
  }
  return removed;
}

function removeRecorded(path: unknown, owner: Record<string, string>): boolean {
  if (typeof path !== 'string' || !isAbsolute(path) || normalize(path) !== path || !NAME.test(basename(path))) {
    debug.runtime('work-folder record names %j, not a work folder: ignored', path);
    return false;
  }
  const st = lstat(path);
  if (!st) return false; // removed already
  if (!st.isDirectory() || st.uid !== process.getuid?.()) {
    debug.runtime('recorded work folder %s is not a folder of this user: left alone', path);
    return false;
  }
  const marker = readJson(join(path, OWNER_FILE));
  if (!marker) {
    // Killed between making the folder and labelling it: it can hold nothing yet. Only an empty one goes.
    try {
      rmdirSync(path);
      return true;
    } catch {
      return false;
    }
  }
  if (marker[OWNER_PID_LABEL] !== owner[OWNER_PID_LABEL] || marker[OWNER_HOST_LABEL] !== owner[OWNER_HOST_LABEL]) {
    debug.runtime('recorded work folder %s names another owner: left alone', path);
    return false;
  }
  rmSync(path, { recursive: true, force: true });
  return true;
}

/** The work folders in one folder (TMPDIR), judged by the owner file in each. */
function sweepBase(base: string, all: boolean): number {
  let removed = 0;
  for (const name of list(base)) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = join(base, name);
    if (!lstat(dir)?.isDirectory()) continue;
    const owner = readJson(join(dir, OWNER_FILE));
    if (!owner) continue; // not one of ours, or not yet labelled: never guess
    if (!all && ownerAlive(owner as Record<string, string>)) continue;
    rmSync(dir, { recursive: true, force: true });
    removed++;
  }
  return removed;
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function lstat(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function exists(path: string): boolean {
  return lstat(path) !== undefined;
}
