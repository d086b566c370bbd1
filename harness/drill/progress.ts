import { basename } from 'node:path';
import type { ContainerActivity } from '../runtime/container.ts';
import { redactText } from '../model/secrets.ts';
import { printable } from '../model/printable.ts';

/** Output kept while waiting for a line's end: a program printing without newlines cannot grow it without bound. */
const MAX_PENDING = 4096;
/** The longest text shown: about one terminal line. */
const MAX_TEXT = 120;

/**
 * Turns what a drill's containers do into one short text for the live
 * progress line: the command running ("app restore"), and what it is doing
 * where that is known: the last line the profile's parser understood (rows
 * restored, a migration step), or bytes copied in or out of the container.
 * Secret values are scrubbed and control characters escaped before anything
 * reaches the terminal. Information only: the verdict never rests on it.
 */
export function progressWatcher(opts: {
  /** The profile's reader of the application's output lines (see Profile.progress). */
  parse?: (line: string) => string | undefined;
  secrets?: readonly string[];
  emit: (text: string) => void;
}): (a: ContainerActivity) => void {
  let command = '';
  let detail = '';
  let pending = '';
  const show = () => {
    const text = [command, detail].filter(Boolean).join(' · ');
    // Scrubbed whole, then cut: a cut first could leave part of a secret to print.
    opts.emit(printable(redactText(text, opts.secrets ?? [])).slice(0, MAX_TEXT));
  };
  return (a) => {
    if (a.kind === 'exec') {
      command = commandName(a.command);
      detail = '';
      pending = '';
    } else if (a.kind === 'bytes') {
      detail = `${bytes(a.done)}${a.total ? ` of ${bytes(a.total)}` : ''} ${a.direction === 'in' ? 'copied in' : 'fetched'}`;
    } else {
      if (!opts.parse) return;
      // Lines end with \n, or \r for a program redrawing its own progress.
      const lines = (pending + a.text).split(/\r\n|\r|\n/);
      pending = (lines.pop() ?? '').slice(-MAX_PENDING);
      let said: string | undefined;
      for (const line of lines) said = safeParse(opts.parse, line) ?? said;
      if (said === undefined) return;
      detail = said.slice(0, MAX_PENDING);
    }
    show();
  };
}

/** A parser that throws shows nothing: progress is never worth a drill. */
function safeParse(parse: (line: string) => string | undefined, line: string): string | undefined {
  try {
    return parse(line);
  } catch {
    return undefined;
  }
}

/** The program and its subcommand ("app restore"), never its other arguments (paths, values). */
export function commandName(command: string[]): string {
  const [prog, sub] = command;
  const name = basename(prog ?? '');
  return sub && /^[a-z][a-z0-9_-]{0,23}$/i.test(sub) ? `${name} ${sub}` : name;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
