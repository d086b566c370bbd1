import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { commandName, progressWatcher } from '../../harness/drill/progress.ts';
import { z4jProgress } from '../../scenarios/z4j/progress.ts';

/**
 * Runs the console reporter (test/helpers/live-progress-script.ts) with a
 * pseudo-terminal as its stdout and stderr, through util-linux `script`: what
 * a person at a terminal sees, escape sequences included.
 */
function underPty(env: NodeJS.ProcessEnv): string {
  const r = spawnSync('script', ['-qfec', `${JSON.stringify(process.execPath)} --import tsx test/helpers/live-progress-script.ts`, '/dev/null'], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 20_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
if (!hasScript) console.warn('live-progress: util-linux `script` is missing, so the pseudo-terminal tests cannot run (apt-get install bsdutils)');

describe('live progress', () => {
  it.runIf(hasScript)('on a terminal: one redrawn line per drill with its stage, elapsed time and what the application is doing', () => {
    const out = underPty({ CI: '' });
    // Redrawn in place: cursor up and clear, not a scrolling log.
    expect(out).toContain('\x1b[2A\x1b[0J');
    const lines = out.split(/\r?\n|\x1b\[2A\x1b\[0J/);
    expect(lines.some((l) => /nightly\.db: provision \d+s · 3\.0 MiB of 12 MiB copied in$/.test(l))).toBe(true);
    // The command without its arguments, then what the profile's parser read from a line split across two chunks and redrawn with \r.
    expect(lines.some((l) => /nightly\.db: restore \d+s · app restore · restored 2400 rows so far \(key \[redacted\]\)$/.test(l))).toBe(true);
    expect(lines.some((l) => /^ {2}0 of 1 drills done, 1 running, \d+s$/.test(l))).toBe(true);
    expect(out).toMatch(/PASSED nightly\.db {2}\[restore 800ms\] {2}total 800ms/);
    expect(out).not.toContain('s3cr3t-value-123');
    expect(out).not.toContain('/drill/archive.db');
    // No plain log lines on a terminal.
    expect(out).not.toMatch(/Z nightly\.db: restore/);
  });

  it.runIf(hasScript)('with CI=true, even on a terminal: plain timestamped stage lines and nothing redrawn', () => {
    const out = underPty({ CI: 'true' });
    expect(out).not.toContain('\x1b[');
    expect(out).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z nightly\.db: provision\r?$/m);
    expect(out).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z nightly\.db: restore\r?$/m);
    expect(out).not.toContain('rows');
    expect(out).not.toContain('copied in');
    expect(out).toMatch(/PASSED nightly\.db/);
  });

  it('the watcher: a command by its name only, lines across chunks, \\r redraws, bytes, a throwing parser, secrets and escapes', () => {
    const seen: string[] = [];
    let boom = false;
    const watch = progressWatcher({
      parse: (line) => {
        if (boom) throw new Error('parser bug');
        return line.startsWith('step ') ? line : undefined;
      },
      secrets: ['hunter2hunter2'],
      emit: (t) => seen.push(t),
    });
    watch({ kind: 'exec', command: ['/opt/bin/tool', 'restore', '/secret/path', '--force'] });
    watch({ kind: 'output', text: 'noise\nstep 1 of' });
    watch({ kind: 'output', text: ' 3\rstep 2 of 3 hunter2hunter2\x1b[31m\r' });
    watch({ kind: 'output', text: 'unparsed line\n' });
    boom = true;
    watch({ kind: 'output', text: 'step 3 of 3\n' });
    watch({ kind: 'bytes', direction: 'out', done: 5 * 2 ** 30 });
    watch({ kind: 'exec', command: ['sh', '-c', 'cat x'] });
    expect(seen).toEqual([
      'tool restore',
      'tool restore · step 2 of 3 [redacted]\\x1b[31m',
      'tool restore · 5.0 GiB fetched',
      'sh',
    ]);
    expect(commandName(['z4j', 'migrate', 'upgrade', 'head'])).toBe('z4j migrate');
  });

  it('z4j: alembic migration steps and verbose pg_restore tables; anything else says nothing', () => {
    expect(z4jProgress('INFO  [alembic.runtime.migration] Running upgrade 3f2a -> 9c1d, add agents.kind')).toBe('migration 3f2a -> 9c1d');
    expect(z4jProgress('INFO  [alembic.runtime.migration] Running upgrade  -> 0001, initial')).toBe('migration (base) -> 0001');
    expect(z4jProgress('pg_restore: processing data for table "public.audit_log"')).toBe('restoring table public.audit_log');
    expect(z4jProgress('z4j: restore complete')).toBeUndefined();
  });
});
