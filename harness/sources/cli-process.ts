import { spawn } from 'node:child_process';
import { PassThrough, type Readable } from 'node:stream';
import { SourceError } from './source-error.ts';

/** A CLI run for a source: never a credential in `args` (they come through `env` or the tool's own config). */
export interface CliRun {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/** How a failed run reads: given the end of its stderr and exit code, the one-line error. */
export type CliFailure = (stderr: string, exitCode: number | null) => SourceError;

const STDERR_TAIL = 16 * 1024;

/**
 * The program's stdout as a stream that ends only after the program exited 0:
 * output that stops because the program failed (a cut connection, a wrong
 * password, a missing path) is an error carrying `fail`'s line, never a short
 * archive. Destroying the stream stops the program.
 */
export function cliStream(run: CliRun, fail: CliFailure): Readable {
  const child = spawn(run.command, run.args, { env: run.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-STDERR_TAIL);
  });
  child.stdout.pipe(out, { end: false });
  child.on('error', (e: NodeJS.ErrnoException) => {
    out.destroy(fail(e.code === 'ENOENT' ? `${run.command}: not installed (not found on PATH)` : `${run.command}: ${e.message}`, null));
  });
  child.on('close', (code) => {
    if (out.destroyed) return;
    if (code === 0) out.end();
    else out.destroy(fail(stderr, code));
  });
  const stop = (): void => {
    child.stdout.unpipe(out);
    child.stdout.destroy();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  out.on('close', stop);
  if (run.signal) {
    const onAbort = (): void => {
      out.destroy(run.signal!.reason instanceof Error ? run.signal!.reason : new SourceError('the fetch was aborted', 'RD_SOURCE'));
    };
    if (run.signal.aborted) onAbort();
    else run.signal.addEventListener('abort', onAbort, { once: true });
    out.on('close', () => run.signal!.removeEventListener('abort', onAbort));
  }
  return out;
}

/** The whole stdout of a run that must exit 0, refused past `maxBytes` (listings are bounded too). */
export async function cliOutput(run: CliRun, fail: CliFailure, maxBytes: number, tooLarge: () => SourceError): Promise<Buffer> {
  const stream = cliStream(run, fail);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of stream) {
    n += (chunk as Buffer).length;
    if (n > maxBytes) {
      stream.destroy();
      throw tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * The line a CLI's stderr ends with that says what went wrong: the last log or
 * Fatal line, its timestamp dropped, an HTTP status found anywhere kept.
 */
export function lastErrorLine(stderr: string, wanted: RegExp): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const hit = [...lines].reverse().find((l) => wanted.test(l)) ?? lines.at(-1) ?? '';
  let line = hit.replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\s+/, '').slice(0, 300);
  const status = /status code:? (\d{3})/i.exec(stderr);
  if (status && !line.includes(status[1]!)) line += ` (${status[1]})`;
  return line;
}
