import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.ts';
import { checkOutputPath } from '../files/output-path.ts';
import { readUserFile } from '../files/read-user-file.ts';
import { writeFileAtomic } from '../report/write.ts';
import { escapeControl, lastSegment, safeDisplay } from '../sources/display.ts';
import { parseS3Location } from '../sources/s3-location.ts';
import { S3Source } from '../sources/s3.ts';
import { parseShardFileName } from './shard.ts';

/** The largest shard report read back (a run of thousands of drills, with every check, fits well below it). */
export const SHARD_REPORT_MAX_BYTES = 256 * 1024 * 1024;

/**
 * Where shard reports go (`run --report-to`) and are read back from
 * (`merge LOCATION`): a folder (local, or mounted by every node) or an S3
 * prefix, written through the same SDK and configuration chain the s3 source
 * reads archives with. restic and rclone locations are sources only.
 */
export interface ReportStore {
  /** The location as it may be printed (no credential). */
  readonly shown: string;
  /** Where a file of this name goes, as it may be printed. */
  where(name: string): string;
  /** Before any drill starts: whether a file of this name can be written here, as far as can be known without writing it. */
  check(name: string, what?: string): Promise<void>;
  /** Writes the file whole (a reader never sees half of it); returns where it went. */
  put(name: string, text: string): Promise<string>;
  /** Every shard-I-of-N.json here, for merge. */
  shardReports(): Promise<StoredReport[]>;
}

export interface StoredReport {
  name: string;
  where: string;
  read(): Promise<Buffer>;
}

/** A --report-to (or merge) location to its store; forms that cannot take a report are refused naming the ones that can. */
export function reportStore(location: string, env: NodeJS.ProcessEnv = process.env, option = '--report-to'): ReportStore {
  if (/^(restic|rclone):/.test(location)) {
    throw new UsageError(`${option} ${safeDisplay(location)}: restic and rclone locations are read-only here (archives are read from them, nothing is written); give a folder (local or mounted on every node) or s3://BUCKET/PREFIX/`, 'RD_REPORT_TO');
  }
  if (location.startsWith('s3://')) {
    const loc = parseS3Location(location);
    if (!loc.prefix) throw new UsageError(`${option} ${safeDisplay(location)}: an S3 location for reports is a prefix, ending in / (s3://BUCKET/PREFIX/)`, 'RD_REPORT_TO');
    return s3Store(location, env);
  }
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(location)) {
    throw new UsageError(`${option} ${safeDisplay(location)}: not a location reports can be written to; give a folder or s3://BUCKET/PREFIX/`, 'RD_REPORT_TO');
  }
  return folderStore(location);
}

export function folderStore(folder: string): ReportStore {
  const dir = resolve(folder);
  return {
    shown: escapeControl(dir),
    where: (name) => join(dir, name),
    async check(name, what = 'shard report') {
      if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UsageError(`${what} folder ${escapeControl(dir)} is not a folder`, 'RD_REPORT_TO');
      // A missing folder is made at the end (mounted report folders often gain a folder per run).
      checkOutputPath(join(dir, name), what);
    },
    async put(name, text) {
      const target = join(dir, name);
      await writeFileAtomic(target, text);
      return target;
    },
    async shardReports() {
      if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`merge: ${escapeControl(dir)} is not a folder of shard reports`, 'RD_REPORT_UNREADABLE');
      return readdirSync(dir)
        .filter((n) => parseShardFileName(n) !== undefined)
        .sort()
        .map((name) => ({ name, where: join(dir, name), read: () => readUserFile(join(dir, name), { what: 'shard report', maxBytes: SHARD_REPORT_MAX_BYTES, code: 'RD_REPORT_UNREADABLE' }) }));
    },
  };
}

function s3Store(prefix: string, env: NodeJS.ProcessEnv): ReportStore {
  const source = new S3Source({ env });
  const at = (name: string) => `${prefix}${name}`;
  return {
    shown: source.display(prefix),
    where: (name) => source.display(at(name)),
    async check() {
      // Reaching the store, the bucket and the credentials: a listing answers all three. Whether
      // they allow writing cannot be asked without writing, and nothing is written before the report.
      await source.list(prefix);
    },
    async put(name, text) {
      await source.put(at(name), text, name.endsWith('.json') ? 'application/json' : 'application/x-ndjson');
      return source.display(at(name));
    },
    async shardReports() {
      const objects = await source.list(prefix);
      return objects
        .filter((o) => parseShardFileName(o.name) !== undefined && o.location === at(o.name))
        .map((o) => ({
          name: o.name,
          where: source.display(o.location),
          read: async () => {
            const bytes = await source.readSmall(o.location, SHARD_REPORT_MAX_BYTES);
            if (bytes === undefined) throw new UsageError(`merge: ${source.display(o.location)} went away while it was read`, 'RD_REPORT_UNREADABLE');
            return bytes;
          },
        }));
    },
  };
}

/** A merge argument that names one report (a file, or an s3:// object) rather than a location holding several. */
export function isSingleReport(arg: string): boolean {
  if (arg.startsWith('s3://')) return !parseS3Location(arg).prefix;
  return existsSync(arg) && statSync(arg).isFile();
}

/** One report named on the command line: a file, or an s3:// object. */
export function singleReport(arg: string, env: NodeJS.ProcessEnv = process.env): StoredReport {
  if (arg.startsWith('s3://')) {
    const source = new S3Source({ env });
    return {
      name: lastSegment(arg),
      where: source.display(arg),
      read: async () => {
        const bytes = await source.readSmall(arg, SHARD_REPORT_MAX_BYTES);
        if (bytes === undefined) throw new UsageError(`merge: ${source.display(arg)}: no such report`, 'RD_REPORT_UNREADABLE');
        return bytes;
      },
    };
  }
  const path = resolve(arg);
  return { name: lastSegment(path), where: escapeControl(path), read: () => readUserFile(path, { what: 'shard report', maxBytes: SHARD_REPORT_MAX_BYTES, code: 'RD_REPORT_UNREADABLE' }) };
}
