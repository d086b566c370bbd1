import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { isArchiveCandidate } from '../select/expand.ts';
import { cliOutput, cliStream, lastErrorLine, type CliRun } from './cli-process.ts';
import { escapeControl, lastSegment, safeDisplay } from './display.ts';
import { parseResticLocation, resticLocation, type ResticLocation } from './restic-location.ts';
import { SourceError } from './source-error.ts';
import type { ArchiveSource, SourceObject } from './source.ts';

/**
 * A file (or the archives in a folder) inside a restic snapshot, through the
 * real restic CLI (`ls --json`, `dump`). The repository goes to restic as
 * RESTIC_REPOSITORY and its password as restic takes it
 * (RESTIC_PASSWORD_FILE / RESTIC_PASSWORD_COMMAND), never as an argument.
 * Reads take no lock (`--no-lock`), so a read-only repository works.
 * Every object listed is pinned to the snapshot id `latest` resolved to, so
 * the manifest beside it is read from the same snapshot.
 */
export class ResticSource implements ArchiveSource {
  readonly kind = 'restic';

  constructor(private readonly options: { env?: NodeJS.ProcessEnv; bin?: string } = {}) {}

  handles(location: string): boolean {
    return location.startsWith('restic:');
  }

  display(location: string): string {
    return safeDisplay(location);
  }

  async list(location: string, signal?: AbortSignal): Promise<SourceObject[]> {
    const loc = parseResticLocation(location);
    const want = loc.path.length > 1 ? loc.path.replace(/\/+$/, '') : '/';
    let snapshotId: string | undefined;
    let self: ResticNode | undefined;
    const children: ResticNode[] = [];
    const stream = cliStream(this.run(loc, ['ls', '--json', ...filterArgs(loc), loc.snapshot, want], signal), this.failure(location));
    // Line by line: a folder in a large snapshot can list many entries.
    for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
      if (!line.trim()) continue;
      let entry: ResticNode & { struct_type?: string; id?: string };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        stream.destroy();
        throw new SourceError(`${this.display(location)}: restic ls printed a line that is not JSON`, 'RD_SOURCE');
      }
      if (entry.struct_type === 'snapshot') snapshotId ??= entry.id;
      else if (entry.struct_type === 'node') {
        if (entry.path === want) self = entry;
        else if (entry.type === 'file' && parentOf(entry.path) === want) children.push(entry);
      }
    }
    // restic ls exits 0 when no snapshot matched the filters: that is not an empty folder.
    if (!snapshotId) {
      const what = loc.snapshot === 'latest' ? `no snapshot matched ${describeSnapshot(loc)}` : `no snapshot ${loc.snapshot} in the repository`;
      throw new SourceError(`${this.display(location)}: ${what}`, 'RD_SOURCE_NOT_FOUND');
    }
    const pinned = (node: ResticNode): SourceObject => ({
      location: resticLocation(loc.repository, snapshotId!, node.path),
      name: node.name,
      sizeBytes: node.size,
      modifiedAt: node.mtime ? new Date(node.mtime) : undefined,
      version: snapshotId,
    });
    if (!self) throw new SourceError(`${this.display(location)}: not found in snapshot ${snapshotId.slice(0, 8)}`, 'RD_SOURCE_NOT_FOUND');
    if (self.type === 'dir') {
      return children.filter((c) => isArchiveCandidate(c.name)).map(pinned).sort((a, b) => (a.location < b.location ? -1 : 1));
    }
    if (loc.folder) throw new SourceError(`${this.display(location)}: a file, not a folder, in snapshot ${snapshotId.slice(0, 8)}`, 'RD_SOURCE_NOT_FOUND');
    if (self.type !== 'file') throw new SourceError(`${this.display(location)}: a ${self.type}, not a file, in snapshot ${snapshotId.slice(0, 8)}`, 'RD_SOURCE_NOT_FOUND');
    return [pinned(self)];
  }

  async open(location: string, signal?: AbortSignal): Promise<{ object: SourceObject; stream: Readable }> {
    const loc = parseResticLocation(location);
    const listed = await this.list(location, signal);
    const object = listed[0];
    // A folder lists its files, whose paths differ from the one asked for.
    if (loc.folder || listed.length !== 1 || !object || parseResticLocation(object.location).path !== loc.path) {
      throw new SourceError(`${this.display(location)}: a folder, not a file: list it first`, 'RD_SOURCE_PREFIX');
    }
    const pinned = parseResticLocation(object.location);
    return { object, stream: cliStream(this.run(pinned, ['dump', pinned.snapshot, pinned.path], signal), this.failure(location)) };
  }

  async readSmall(location: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer | undefined> {
    const loc = parseResticLocation(location);
    try {
      return await cliOutput(
        this.run(loc, ['dump', ...filterArgs(loc), loc.snapshot, loc.path], signal),
        this.failure(location),
        maxBytes,
        () => new SourceError(`${this.display(location)}: more than the ${maxBytes} bytes allowed for this file`, 'RD_SOURCE_TOO_LARGE'),
      );
    } catch (e) {
      if (e instanceof SourceError && e.code === 'RD_SOURCE_NOT_FOUND' && /not found in snapshot/.test(e.message)) return undefined;
      throw e;
    }
  }

  private run(loc: ResticLocation, args: string[], signal?: AbortSignal): CliRun {
    const env: NodeJS.ProcessEnv = { ...(this.options.env ?? process.env), RESTIC_REPOSITORY: loc.repository };
    // Our repository wins over one the environment names by file.
    delete env.RESTIC_REPOSITORY_FILE;
    return { command: this.options.bin ?? 'restic', args: ['--no-lock', '--quiet', ...args], env, signal };
  }

  private failure(location: string) {
    return (stderr: string, exitCode: number | null): SourceError => {
      const shown = this.display(location);
      const line = escapeControl(safeDisplay(lastErrorLine(stderr, /^(Fatal|Error|error|cannot|invalid|Is there)/)));
      const says = `(restic${exitCode === null ? '' : ` exit ${exitCode}`}: ${line})`;
      if (/not found in snapshot/.test(stderr)) return new SourceError(`${shown}: not found in the snapshot ${says}`, 'RD_SOURCE_NOT_FOUND');
      if (/no matching ID found|invalid id|no snapshot matched/i.test(stderr)) return new SourceError(`${shown}: no such snapshot ${says}`, 'RD_SOURCE_NOT_FOUND');
      if (/wrong password|no key found|empty password|password/i.test(stderr)) {
        return new SourceError(`${shown}: the repository refused the password (RESTIC_PASSWORD_FILE / RESTIC_PASSWORD_COMMAND) ${says}`, 'RD_SOURCE_DENIED');
      }
      if (/\b403\b|AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|permission denied/i.test(stderr)) {
        return new SourceError(`${shown}: access denied ${says}`, 'RD_SOURCE_DENIED');
      }
      if (/unable to open config file|Is there a repository/i.test(stderr)) return new SourceError(`${shown}: no restic repository there ${says}`, 'RD_SOURCE_NOT_FOUND');
      return new SourceError(`${shown}: restic failed ${says}`, 'RD_SOURCE');
    };
  }
}

interface ResticNode {
  name: string;
  type: string;
  path: string;
  size?: number;
  mtime?: string;
}

function filterArgs(loc: ResticLocation): string[] {
  return [...loc.filters.host.flatMap((h) => ['--host', h]), ...loc.filters.tag.flatMap((t) => ['--tag', t]), ...loc.filters.path.flatMap((p) => ['--path', p])];
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

function describeSnapshot(loc: ResticLocation): string {
  const f = [...loc.filters.host.map((h) => `host=${h}`), ...loc.filters.tag.map((t) => `tag=${t}`), ...loc.filters.path.map((p) => `path=${p}`)];
  return escapeControl(f.length ? `${loc.snapshot} with ${f.join(', ')}` : loc.snapshot);
}
