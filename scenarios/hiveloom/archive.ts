import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readTarGz, type TarFinding, type TarLimits } from '../../harness/archive/tar-read.ts';
import { checkWal } from '../../harness/checks/sqlite-wal.ts';
import { fileIntegrityProblems } from '../../harness/checks/sqlite-db.ts';
import { errorMessage } from '../../harness/errors.ts';
import { BackupJson } from './layout.ts';

/** A Hiveloom archive unpacked (safely) into a private folder, and what is wrong with it. */
export interface OpenedArchive {
  /** Entries refused by the safe reader: the archive must not go anywhere near the application. */
  refused: TarFinding[];
  /** Layout problems (not a Hiveloom archive as 0.2.0 writes them). */
  layout: string[];
  backup?: BackupJson;
  /** The unpacked `data/` folder. */
  dataRoot: string;
  /** Every file under data/, relative to it. */
  files: string[];
  /** The archive's master.key, when it holds one. */
  masterKey?: Buffer;
  /** SQLite databases (relative to data/), with what their WAL check and integrity_check found. */
  databases: DatabaseCheck[];
}

export interface DatabaseCheck {
  file: string;
  hasWal: boolean;
  walProblems: string[];
  /** integrity_check problems, or the reason the file cannot be opened. */
  integrity: string[];
}

/**
 * Unpacks with the harness's safe tar reader into `dir` and checks every
 * SQLite file in it: main file against its WAL, then integrity_check with the
 * WAL applied (as SQLite would on open). The -shm index is dropped first:
 * it is rebuilt from the WAL, and a live copy of it may be stale.
 */
export async function openArchive(archive: string, dir: string, limits?: Partial<TarLimits>): Promise<OpenedArchive> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const read = await readTarGz(archive, { extractTo: dir, collect: (n) => n === 'backup.json', ...(limits ? { limits } : {}) });
  const dataRoot = join(dir, 'data');
  const out: OpenedArchive = { refused: read.findings, layout: [], dataRoot, files: [], databases: [] };
  if (read.findings.length > 0) return out;

  const first = read.entries[0];
  if (first?.name !== 'backup.json') out.layout.push(`the first entry is ${first ? `"${first.name}"` : 'missing'}, not backup.json`);
  const raw = read.collected.get('backup.json');
  if (!raw) {
    out.layout.push('backup.json is missing');
  } else {
    try {
      const parsed = BackupJson.safeParse(JSON.parse(raw.toString('utf8')));
      if (parsed.success) out.backup = parsed.data;
      else out.layout.push(`backup.json does not describe a Hiveloom backup: ${parsed.error.issues.map((i) => `${i.path.join('.') || '$'}: ${i.message}`).join('; ')}`);
    } catch (e) {
      out.layout.push(`backup.json is not JSON: ${errorMessage(e)}`);
    }
  }
  for (const e of read.entries) {
    if (e.name === 'backup.json' || e.name === 'data' || e.name.startsWith('data/')) {
      if (e.type === 'file' && e.name.startsWith('data/')) out.files.push(e.name.slice('data/'.length));
      else if (e.type === 'symlink' || e.type === 'link') out.layout.push(`data holds a link (${e.name}); Hiveloom writes none`);
    } else {
      out.layout.push(`unexpected entry "${e.name}" outside data/`);
    }
  }
  if (out.files.includes('master.key')) out.masterKey = readFileSync(join(dataRoot, 'master.key'));

  for (const file of out.files.filter((f) => f.endsWith('.db')).sort()) {
    const main = join(dataRoot, file);
    const hasWal = out.files.includes(`${file}-wal`);
    const wal = checkWal(main, hasWal ? `${main}-wal` : undefined);
    rmSync(`${main}-shm`, { force: true });
    const integrity = fileIntegrityProblems(main);
    out.databases.push({ file, hasWal, walProblems: wal.problems, integrity });
  }
  return out;
}

export function hasFile(a: OpenedArchive, rel: string): boolean {
  return a.files.includes(rel) && existsSync(join(a.dataRoot, rel));
}

/** One refused entry in a sentence; a torn copy is said plainly, with what to do. */
export function refusal(f: TarFinding): string {
  return f.problem === 'torn' ? `"${f.entry}": ${f.reason}` : `refused entry "${f.entry}": ${f.reason}`;
}
