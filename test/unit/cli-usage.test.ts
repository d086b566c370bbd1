import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../harness/cli.ts';
import { ExitCode } from '../../harness/errors.ts';
import { History } from '../../harness/history/store.ts';
import { manifestJsonSchema } from '../../harness/manifest/schema.ts';
import { sample } from './manifest.test.ts';

/**
 * Bad input ends with one line on stderr and the usage exit code, before any
 * engine is contacted: DOCKER_HOST points nowhere, so reaching the engine would
 * be exit 3, not 2.
 */
describe('bad input', () => {
  let stderr: string[];
  const dir = mkdtempSync(join(tmpdir(), 'rd-usage-'));
  const archive = join(dir, 'a.db');
  writeFileSync(archive, 'x');

  beforeEach(() => {
    stderr = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (stderr.push(String(s)), true));
    vi.stubEnv('DOCKER_HOST', 'tcp://127.0.0.1:1');
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  const run = (...args: string[]) => main(['node', 'restore-drill', ...args]);
  const oneLine = () => {
    const text = stderr.join('');
    expect(text.trim().split('\n')).toHaveLength(1);
    return text;
  };

  it.each([
    ['--jobs', '0'],
    ['--jobs', '-1'],
    ['--jobs', 'abc'],
    ['--timeout', 'abc'],
    ['--timeout', '0'],
    ['--timeout', '-5s'],
    ['--timeout', '0s'],
    ['--timeout', '99999999999d'],
    ['--deadline', '1ms'],
    ['--exec-timeout', '0'],
    ['--exec-timeout', 'abc'],
    ['--latest', '0'],
    ['--sample', '0'],
    ['--oldest-undrilled', '0'],
    ['--seed', '1.5'],
    ['--within', '0s'],
  ])('refuses %s %s with one line naming the option and what it takes', async (option, value) => {
    expect(await run('run', '--profile', 'z4j', `${option}=${value}`, archive)).toBe(ExitCode.usage);
    const line = oneLine();
    expect(line).toContain(`restore-drill: ${option}`);
    expect(line).toMatch(/takes|is not a duration/);
  });

  it.each([
    ['gate', '--profile', 'z4j', '--archive', 'ARCHIVE', '--to-version', '1.13.0;id'],
    ['gate', '--profile', 'z4j', '--archive', 'ARCHIVE', '--to-version', '../../etc'],
    ['manifest', 'capture', '--profile', 'z4j', '--archive', 'ARCHIVE', '--app-version', '1.0/../../x'],
    ['images', 'build', '--profile', 'z4j', '--app-version', '1.13.0 $(id)'],
  ])('refuses a version that is not one before anything runs: %s %s', async (...args) => {
    expect(await run(...args.map((a) => (a === 'ARCHIVE' ? archive : a)))).toBe(ExitCode.usage);
    expect(oneLine()).toMatch(/--(to|app)-version takes a version like 1\.13\.0/);
  });

  it('refuses a manifest whose version is not one', async () => {
    writeFileSync(`${archive}.manifest.json`, JSON.stringify({ ...sample, app: { ...sample.app, name: 'z4j', version: '1.13.0/../../tmp' } }));
    expect(await run('run', '--profile', 'z4j', archive)).toBe(ExitCode.usage);
    expect(oneLine()).toMatch(/\$\.app\.version: a version like 1\.13\.0/);
  });

  it('refuses a FIFO, a device and a symlink where a file is expected, without blocking', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    writeFileSync(`${archive}.manifest.json`, JSON.stringify(sample));
    expect(await run('run', '--profile', 'z4j', '--manifest', fifo, archive)).toBe(ExitCode.usage);
    expect(oneLine()).toMatch(/manifest .*fifo is not a regular file \(a FIFO\)/);
    stderr.length = 0;
    expect(await run('run', '--profile', 'z4j', '--secrets', fifo, archive)).toBe(ExitCode.usage);
    expect(oneLine()).toMatch(/secrets file .*fifo is not a regular file \(a FIFO\)/);
    stderr.length = 0;
    expect(await run('run', '--profile', 'z4j', '--secrets', '/dev/zero', archive)).toBe(ExitCode.usage);
    expect(oneLine()).toMatch(/secrets file \/dev\/zero is not a regular file \(a device\)/);
    stderr.length = 0;
    const link = join(dir, 'secret.env');
    symlinkSync('/etc/passwd', link);
    expect(await run('run', '--profile', 'z4j', '--secrets', link, archive)).toBe(ExitCode.usage);
    expect(oneLine()).toMatch(/secrets file .*secret\.env is a symbolic link: name the file itself/);
  });

  it('checks every output path before anything starts', async () => {
    copyFileSync(new URL('./fixtures/manifests/z4j-sqlite-1.13.0.manifest.json', import.meta.url), `${archive}.manifest.json`);
    const cases: Array<[string[], RegExp]> = [
      [['run', '--profile', 'z4j', '--json', '.', archive], /json report \. is a folder: name a file/],
      [['run', '--profile', 'z4j', '--reporter', 'junit=/proc/version', archive], /junit report \/proc\/version cannot be written: \/proc does not take new files/],
      [['run', '--profile', 'z4j', '--history', '/dev/null', archive], /history file \/dev\/null is not a regular file/],
      [['run', '--profile', 'z4j', '--history', archive, archive], /history file .*a\.db is not a restore-drill history \(an SQLite file\)/],
      [['manifest', 'capture', '--profile', 'z4j', '--archive', archive, '--out', '/nonexistent/m.json'], /manifest \/nonexistent\/m\.json: folder \/nonexistent does not exist/],
    ];
    for (const [args, message] of cases) {
      stderr.length = 0;
      expect([args.join(' '), await run(...args)]).toEqual([args.join(' '), ExitCode.usage]);
      expect(oneLine()).toMatch(message);
    }
  });

  /**
   * Runs the command while watching `folder`: the names created in it (a
   * writability probe, a folder). Events arrive in order, so once a marker
   * written afterwards is seen, every earlier creation has been too.
   */
  async function created(folder: string, command: () => Promise<number>): Promise<{ code: number; names: string[] }> {
    const names: string[] = [];
    const marker = `.marker-${process.pid}`;
    let seen!: () => void;
    const done = new Promise<void>((r) => (seen = r));
    const watcher = watch(folder, (_event, name) => {
      if (name === marker) seen();
      else if (name && !names.includes(name)) names.push(name);
    });
    try {
      const code = await command();
      writeFileSync(join(folder, marker), '');
      await done;
      rmSync(join(folder, marker));
      return { code, names };
    } finally {
      watcher.close();
    }
  }

  it.each([
    ['--history', (h: string) => ['--history', h], {}],
    ['RESTORE_DRILL_HISTORY', () => [], { env: true }],
  ])('refuses a history file (%s) whose folder does not exist, making nothing and probing nowhere', async (_how, flag, how) => {
    copyFileSync(new URL('./fixtures/manifests/z4j-sqlite-1.13.0.manifest.json', import.meta.url), `${archive}.manifest.json`);
    const outside = mkdtempSync(join(dir, 'hist-'));
    const history = join(outside, 'missing', 'deeper', 'h.sqlite');
    if ('env' in how) vi.stubEnv('RESTORE_DRILL_HISTORY', history);
    const r = await created(outside, () => run('run', '--profile', 'z4j', ...flag(history), archive));
    expect(r.code).toBe(ExitCode.usage);
    expect(oneLine()).toContain(`history file ${history}: folder ${join(outside, 'missing', 'deeper')} does not exist`);
    expect(r.names).toEqual([]); // no folder made, no probe file written and removed where the path first exists
    expect(readdirSync(outside)).toEqual([]);
  });

  it('makes the default history\'s folder in the state dir, and only that', async () => {
    copyFileSync(new URL('./fixtures/manifests/z4j-sqlite-1.13.0.manifest.json', import.meta.url), `${archive}.manifest.json`);
    const state = join(mkdtempSync(join(dir, 'state-')), 'a', 'restore-drill');
    vi.stubEnv('RESTORE_DRILL_STATE_DIR', state);
    // The engine is unreachable, so the run ends 3 after the checks; the history's folder is there for it.
    expect(await run('run', '--profile', 'z4j', archive)).toBe(ExitCode.error);
    expect(statSync(state).isDirectory()).toBe(true);
  });

  it.each([
    [['history', '--since', 'abc'], /--since: "abc" is not a duration/],
    [['history', '--coverage', '--max-age', 'abc'], /--max-age: "abc" is not a duration/],
  ])('%j refuses the option before opening (or making) any history', async (args, message) => {
    const state = mkdtempSync(join(dir, 'state-'));
    vi.stubEnv('RESTORE_DRILL_STATE_DIR', state);
    // With none yet, and with one there: neither is touched.
    expect(await run(...args)).toBe(ExitCode.usage);
    expect(oneLine()).toMatch(message);
    expect(readdirSync(state)).toEqual([]);
    new History(join(state, 'history.sqlite')).close();
    const before = readdirSync(state);
    stderr.length = 0;
    const r = await created(state, () => run(...args));
    expect(r.code).toBe(ExitCode.usage);
    expect(oneLine()).toMatch(message);
    expect(r.names).toEqual([]); // opening it would have made its -wal and -shm files
    expect(readdirSync(state)).toEqual(before);
  });

  it('history --coverage with no history yet makes none, and lists the archive as never passed', async () => {
    copyFileSync(new URL('./fixtures/manifests/z4j-sqlite-1.13.0.manifest.json', import.meta.url), `${archive}.manifest.json`);
    const state = mkdtempSync(join(dir, 'state-'));
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (lines.push(String(s)), true));
    for (const env of [{ RESTORE_DRILL_STATE_DIR: state }, { RESTORE_DRILL_HISTORY: join(state, 'nope', 'h.sqlite') }]) {
      for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
      expect(await run('history', '--coverage', archive)).toBe(ExitCode.failed);
      expect(readdirSync(state)).toEqual([]);
    }
    expect(lines.join('')).toContain(`${archive}\tnever passed a drill`);
  });

  it('refuses a missing archive', async () => {
    expect(await run('run', '--profile', 'z4j', join(dir, 'nope.db'))).toBe(ExitCode.usage);
    expect(oneLine()).toMatch(/archive .*nope\.db does not exist/);
  });

  it('refuses an unreadable manifest', async () => {
    writeFileSync(`${archive}.manifest.json`, '{ nope');
    expect(await run('run', '--profile', 'z4j', archive)).toBe(ExitCode.usage);
    expect(oneLine()).toMatch(/manifest .* is not JSON/);
  });

  it('lists every schema problem of a manifest with its JSON path', async () => {
    writeFileSync(`${archive}.manifest.json`, JSON.stringify({ ...sample, app: { name: 'z4j' }, expectations: { counts: { users: -1 } } }));
    expect(await run('run', '--profile', 'z4j', archive)).toBe(ExitCode.usage);
    const text = oneLine();
    expect(text).toContain('$.app.version');
    expect(text).toContain('$.expectations.counts.users');
  });

  it('refuses an unknown profile', async () => {
    expect(await run('run', '--profile', 'nosuchapp', archive)).toBe(ExitCode.usage);
    expect(oneLine()).toMatch(/unknown profile "nosuchapp" \(known: z4j, hiveloom\)/);
  });

  it('refuses a manifest made for another profile', async () => {
    writeFileSync(`${archive}.manifest.json`, JSON.stringify(sample));
    expect(await run('run', '--profile', 'z4j', archive)).toBe(ExitCode.usage);
    expect(oneLine()).toMatch(/is for app, not the z4j profile/);
  });

  it('maps a missing required option to the usage exit code', async () => {
    expect(await run('run', archive)).toBe(ExitCode.usage);
  });

  it('publishes the manifest JSON Schema it validates with', () => {
    const published = JSON.parse(readFileSync(new URL('../../schema/manifest.schema.json', import.meta.url), 'utf8')) as unknown;
    expect(published).toEqual(manifestJsonSchema());
  });
});
