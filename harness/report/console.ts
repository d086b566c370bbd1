import type { DrillReport, StageName } from '../model/types.ts';
import type { Reporter, ReporterOptions } from './reporter.ts';
import { printable } from '../model/printable.ts';

/** One line per archive: verdict, archive, stage timings, and the reason when not passed. */
export function consoleLine(r: DrillReport): string {
  const timings = r.stages.map((s) => `${s.name} ${fmt(s.durationMs)}${s.status === 'passed' ? '' : ` (${s.status})`}`).join(', ');
  const head = `${r.verdict.toUpperCase().padEnd(6)} ${printable(r.archive.file)}  [${timings}]  total ${fmt(r.durationMs)}`;
  return r.verdict === 'passed' ? head : `${head}\n       ${printable(r.summary)}`;
}

/** Every non-passing check, one per line (after the summary line), then the drill's notes. */
export function consoleFindings(r: DrillReport): string[] {
  return [
    ...r.checks.filter((c) => c.status !== 'pass').map((c) => `       - [${c.status}] ${c.stage}/${printable(c.id)}: ${printable(c.reason)}`),
    ...(r.notes ?? []).map((n) => `       note: ${printable(n)}`),
  ];
}

/**
 * The default reporter. Results go to stdout. Progress goes to stderr: on a
 * TTY one live line per running drill (stage, elapsed time and what the
 * application is doing: its command, what the profile read from its output,
 * bytes copied; redrawn); otherwise, or with CI=true, plain timestamped stage
 * lines, fit for logs.
 */
export function consoleReporter(opts: ReporterOptions): Reporter {
  const tty = Boolean(opts.err.isTTY) && opts.env.CI !== 'true';
  const running = new Map<string, { stage: StageName; since: number; doing?: string }>();
  let total = 0;
  let done = 0;
  const startedAt = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let drawn = 0;
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let frame = 0;
  // A line wider than the terminal wraps, and the redraw would then move up too few lines.
  const fit = (line: string) => {
    const width = opts.err.columns;
    return width && line.length >= width ? `${line.slice(0, Math.max(10, width - 2))}…` : line;
  };
  const clear = () => {
    if (drawn > 0) opts.err.write(`\x1b[${drawn}A\x1b[0J`);
    drawn = 0;
  };
  const draw = () => {
    clear();
    frame = (frame + 1) % frames.length;
    for (const [archive, s] of running) {
      const doing = s.doing ? ` · ${s.doing}` : '';
      opts.err.write(`${fit(`${frames[frame]} ${printable(archive.split('/').pop() ?? '')}: ${s.stage} ${((Date.now() - s.since) / 1000).toFixed(0)}s${doing}`)}\n`);
      drawn++;
    }
    if (total > 0) {
      opts.err.write(`${fit(`  ${done} of ${total} drills done, ${running.size} running, ${((Date.now() - startedAt) / 1000).toFixed(0)}s`)}\n`);
      drawn++;
    }
  };
  return {
    name: 'console',
    onRunStart(archives) {
      total = archives.length;
    },
    onStage(archive, stage) {
      // A new stage drops what the last one was doing.
      running.set(archive, { stage, since: running.get(archive)?.since ?? Date.now() });
      if (tty) {
        timer ??= setInterval(draw, 120);
        timer.unref();
      } else {
        opts.err.write(`${new Date().toISOString()} ${printable(archive.split('/').pop() ?? '')}: ${stage}\n`);
      }
    },
    onProgress(archive, text) {
      // On a TTY only: logs get the plain stage lines, never a stream of redraws.
      const s = running.get(archive);
      if (tty && s) s.doing = text;
    },
    onDrillEnd(report) {
      running.delete(report.archive.path);
      done++;
      if (tty) clear();
      opts.out(consoleLine(report));
      for (const line of consoleFindings(report)) opts.out(line);
      if (tty && running.size === 0 && timer) {
        clearInterval(timer);
        timer = undefined;
      }
    },
  };
}

function fmt(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
}
