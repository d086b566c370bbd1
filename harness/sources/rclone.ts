import type { Readable } from 'node:stream';
import { UsageError } from '../errors.ts';
import { isArchiveCandidate } from '../select/expand.ts';
import { cliOutput, cliStream, lastErrorLine, type CliRun } from './cli-process.ts';
import { escapeControl, lastSegment, safeDisplay } from './display.ts';
import { SourceError } from './source-error.ts';
import type { ArchiveSource, SourceObject } from './source.ts';

const LISTING_LIMIT = 64 << 20;
/** Connection-string parameters that hold secrets (`:s3,secret_access_key=…:bucket`). */
const SECRET_PARAM = /(pass|secret|key|token|auth|cred|sas)/i;

/**
 * `rclone:REMOTE:PATH` through the real rclone CLI (`lsjson`, `cat`) with the
 * user's own rclone config (RCLONE_CONFIG, RCLONE_CONFIG_<REMOTE>_*,
 * ~/.config/rclone); retries are rclone's. A PATH ending in / (or naming a
 * directory) is a selection like a folder.
 */
export class RcloneSource implements ArchiveSource {
  readonly kind = 'rclone';

  constructor(private readonly options: { env?: NodeJS.ProcessEnv; bin?: string } = {}) {}

  handles(location: string): boolean {
    return location.startsWith('rclone:');
  }

  display(location: string): string {
    // Secret parameters of an on-the-fly remote are masked like URL passwords.
    return safeDisplay(location.replace(/([,:]([A-Za-z0-9_]+)=)([^,:]*)/g, (m, head: string, key: string) => (SECRET_PARAM.test(key) ? `${head}***` : m)));
  }

  async list(location: string, signal?: AbortSignal): Promise<SourceObject[]> {
    const target = this.target(location);
    const stat = await this.stat(location, target, signal);
    if (!stat.IsDir) return [this.objectOf(location, target, stat)];
    const folder = target.endsWith('/') || target.endsWith(':') ? target : `${target}/`;
    const entries = await this.files(location, folder, signal);
    // A bucket store (S3 and the like) reports any missing name as a directory:
    // one named without a trailing / that holds nothing is not there.
    if (entries.length === 0 && !target.endsWith('/') && !target.endsWith(':')) throw this.notFound(location);
    return entries
      .filter((e) => isArchiveCandidate(e.Name))
      .map((e) => this.objectOf(`rclone:${folder}${e.Name}`, `${folder}${e.Name}`, e))
      .sort((a, b) => (a.location < b.location ? -1 : a.location > b.location ? 1 : 0));
  }

  async open(location: string, signal?: AbortSignal): Promise<{ object: SourceObject; stream: Readable }> {
    const target = this.target(location);
    const stat = await this.fileStat(location, target, signal);
    if (!stat) throw this.notFound(location);
    return { object: this.objectOf(location, target, stat), stream: cliStream(this.run(['cat', target], signal), this.failure(location)) };
  }

  async readSmall(location: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer | undefined> {
    const target = this.target(location);
    let stat: LsEntry | undefined;
    try {
      stat = await this.fileStat(location, target, signal);
    } catch (e) {
      if (e instanceof SourceError && e.code === 'RD_SOURCE_NOT_FOUND') return undefined;
      throw e;
    }
    if (!stat) return undefined;
    if (stat.Size !== undefined && stat.Size > maxBytes) throw this.tooLarge(location, maxBytes);
    return cliOutput(this.run(['cat', '--count', String(maxBytes + 1), target], signal), this.failure(location), maxBytes, () => this.tooLarge(location, maxBytes));
  }

  /**
   * The file a location names; undefined where a bucket store has nothing by
   * that name. A real directory is refused: `rclone cat` would join its files.
   */
  private async fileStat(location: string, target: string, signal?: AbortSignal): Promise<LsEntry | undefined> {
    const stat = await this.stat(location, target, signal);
    if (!stat.IsDir) return stat;
    const folder = target.endsWith('/') || target.endsWith(':') ? target : `${target}/`;
    if ((await this.files(location, folder, signal)).length === 0 && !target.endsWith('/')) return undefined;
    throw new SourceError(`${this.display(location)}: a directory, not a file: list it first`, 'RD_SOURCE_PREFIX');
  }

  private async files(location: string, folder: string, signal?: AbortSignal): Promise<LsEntry[]> {
    const raw = await cliOutput(this.run(['lsjson', '--files-only', '--no-mimetype', folder], signal), this.failure(location), LISTING_LIMIT, () => this.tooLarge(location));
    return (parseJson(raw, location, this) as LsEntry[]).filter((e) => !e.IsDir);
  }

  private notFound(location: string): SourceError {
    return new SourceError(`${this.display(location)}: not found`, 'RD_SOURCE_NOT_FOUND');
  }

  /** The part after `rclone:`, as rclone takes it; refused if it would put a secret in argv. */
  private target(location: string): string {
    const target = location.slice('rclone:'.length);
    if (!/^:?[^:/\s][^:]*:/.test(target)) {
      throw new UsageError(`${this.display(location)}: expected rclone:REMOTE:PATH (a remote from the rclone config)`, 'RD_LOCATION');
    }
    const params = /^:?[^:]*,([^:]*):/.exec(target)?.[1] ?? '';
    if (params.split(',').some((p) => SECRET_PARAM.test(p.split('=')[0] ?? ''))) {
      throw new UsageError(`${this.display(location)}: secrets in the location are refused (they would be in the process arguments); put them in the rclone config or RCLONE_CONFIG_<REMOTE>_* variables`, 'RD_LOCATION');
    }
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(target)) throw new UsageError(`${this.display(location)}: control characters in the path`, 'RD_LOCATION');
    return target;
  }

  private async stat(location: string, target: string, signal?: AbortSignal): Promise<LsEntry> {
    if (target.endsWith(':')) return { Name: '', IsDir: true, Size: -1 };
    const raw = await cliOutput(this.run(['lsjson', '--stat', '--no-mimetype', target.replace(/\/+$/, '')], signal), this.failure(location), LISTING_LIMIT, () => this.tooLarge(location));
    return parseJson(raw, location, this) as LsEntry;
  }

  private objectOf(location: string, target: string, e: LsEntry): SourceObject {
    return {
      location,
      name: e.Name || lastSegment(target.slice(target.indexOf(':') + 1)),
      sizeBytes: typeof e.Size === 'number' && e.Size >= 0 ? e.Size : undefined,
      modifiedAt: e.ModTime ? new Date(e.ModTime) : undefined,
    };
  }

  private run(args: string[], signal?: AbortSignal): CliRun {
    // rclone's own retries for transient errors stay; no progress output.
    return { command: this.options.bin ?? 'rclone', args: ['--quiet', ...args], env: this.options.env ?? process.env, signal };
  }

  private failure(location: string) {
    return (stderr: string, exitCode: number | null): SourceError => {
      const shown = this.display(location);
      // rclone's exit codes: 3 directory not found, 4 file not found.
      if (exitCode === 3 || exitCode === 4 || /object not found|directory not found|file not found/i.test(stderr)) {
        return new SourceError(`${shown}: not found (rclone exit ${exitCode})`, 'RD_SOURCE_NOT_FOUND');
      }
      const line = escapeControl(this.display(lastErrorLine(stderr, /Failed to|ERROR|error/)));
      const denied = /\b(403|401)\b|AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|permission denied/i.test(stderr);
      return new SourceError(`${shown}: ${denied ? 'access denied: ' : ''}rclone${exitCode === null ? '' : ` exit ${exitCode}`}: ${line}`, denied ? 'RD_SOURCE_DENIED' : 'RD_SOURCE');
    };
  }

  private tooLarge(location: string, max?: number): SourceError {
    return new SourceError(`${this.display(location)}: ${max === undefined ? 'listing' : 'file'} larger than the ${max ?? LISTING_LIMIT} bytes allowed`, 'RD_SOURCE_TOO_LARGE');
  }
}

interface LsEntry {
  Name: string;
  Size?: number;
  ModTime?: string;
  IsDir: boolean;
}

function parseJson(raw: Buffer, location: string, source: RcloneSource): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new SourceError(`${source.display(location)}: rclone printed no JSON listing`, 'RD_SOURCE');
  }
}
