import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeWorkDir, removeWorkDir, sweepWorkDirs } from '../../harness/runtime/work-dir.ts';

/** The pid of a process that has ended. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

const owner = (pid: number) => ({ 'io.restore-drill.owner-pid': String(pid), 'io.restore-drill.owner-host': hostname() });
const root = mkdtempSync(join(tmpdir(), 'rd-work-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A fresh TMPDIR-like folder and a fresh state dir's record folder, both this test's own. */
function place(name: string) {
  const dir = join(root, name);
  mkdirSync(dir);
  return { base: join(dir, 'tmp'), records: join(dir, 'state', 'work-dirs'), dir, ...(mkdirSync(join(dir, 'tmp')), {}) };
}

describe('work folders', () => {
  it('are private and name their owner; a sweep removes those whose owner is gone and keeps a live one', async () => {
    const { base, records } = place('basic');
    const mine = await makeWorkDir('drill', { base, records });
    expect(statSync(mine).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(join(mine, '.restore-drill-owner.json'), 'utf8'))).toEqual(owner(process.pid));
    const orphan = await makeWorkDir('drill', { base, records });
    writeFileSync(join(orphan, 'master.key'), 'secret bytes');
    writeFileSync(join(orphan, '.restore-drill-owner.json'), JSON.stringify(owner(deadPid())));
    const stranger = mkdtempSync(join(base, 'restore-drill-unlabelled-'));
    // Found through TMPDIR only: the records are elsewhere.
    expect(sweepWorkDirs({ base, records: join(root, 'no-records') })).toBe(1);
    expect(existsSync(orphan)).toBe(false);
    expect(existsSync(mine)).toBe(true);
    expect(existsSync(stranger)).toBe(true); // never guess about a folder that names no owner
    expect(sweepWorkDirs({ base, records, all: true })).toBe(1);
    expect(existsSync(mine)).toBe(false);
  });

  it('made by a process killed with TMPDIR=A are removed by a sweep run with TMPDIR=B (found through their record)', async () => {
    const { dir, base: a, records } = place('killed');
    const b = join(dir, 'other-tmp');
    mkdirSync(b);
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/unit/fixtures/work-dir-and-hang.ts'], {
      env: { ...process.env, TMPDIR: a, RESTORE_DRILL_STATE_DIR: join(dir, 'state') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', () => out.includes('\n') && resolve());
      child.on('exit', (code) => reject(new Error(`the child exited early with ${code}`)));
    });
    const work = /^ready (\S+)$/m.exec(out)![1]!;
    expect(work.startsWith(`${a}/restore-drill-`)).toBe(true);
    expect(readdirSync(records)).toHaveLength(1);

    // While it lives, its folder stays.
    expect(sweepWorkDirs({ base: b, records })).toBe(0);
    expect(existsSync(join(work, 'master.key'))).toBe(true);

    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(sweepWorkDirs({ base: b, records })).toBe(1);
    expect(existsSync(work)).toBe(false);
    expect(readdirSync(records)).toEqual([]); // the record goes with it
  });

  it('a forged or stale record removes nothing: not a work folder\'s name, a link, another owner, no owner file', async () => {
    const { dir, base, records } = place('forged');
    mkdirSync(records, { recursive: true });
    const dead = deadPid();
    const precious = join(dir, 'precious');
    mkdirSync(precious);
    writeFileSync(join(precious, 'data'), 'keep me');
    writeFileSync(join(precious, '.restore-drill-owner.json'), JSON.stringify(owner(dead)));
    // Named like a work folder, holding data, but no owner file.
    const unlabelled = join(dir, 'restore-drill-x-0123456789ab');
    mkdirSync(unlabelled);
    writeFileSync(join(unlabelled, 'data'), 'keep me');
    // Named like a work folder, but a link to the precious folder.
    const link = join(dir, 'restore-drill-x-ba9876543210');
    symlinkSync(precious, link);
    // A real work folder of a live process (this one); the record claims a dead owner.
    const live = await makeWorkDir('drill', { base, records: join(dir, 'elsewhere') });
    writeFileSync(join(live, 'master.key'), 'in use');
    const paths = [precious, unlabelled, link, live, `${dir}/tmp/../precious`, 'restore-drill-x-0123456789ab', dir];
    paths.forEach((path, i) => writeFileSync(join(records, `${dead}-${String(i).padStart(12, '0')}.json`), JSON.stringify({ ...owner(dead), path })));

    expect(sweepWorkDirs({ base: join(dir, 'empty'), records })).toBe(0);
    expect(readFileSync(join(precious, 'data'), 'utf8')).toBe('keep me');
    expect(readFileSync(join(unlabelled, 'data'), 'utf8')).toBe('keep me');
    expect(readFileSync(join(link, 'data'), 'utf8')).toBe('keep me');
    expect(readFileSync(join(live, 'master.key'), 'utf8')).toBe('in use');
    expect(readdirSync(records)).toEqual([]); // dead owners' records are dropped once judged
  });

  it('a live owner\'s record is kept; a folder killed before it was labelled goes only while empty', async () => {
    const { dir, records } = place('edges');
    mkdirSync(records, { recursive: true });
    const dead = deadPid();
    const empty = join(dir, 'restore-drill-x-aaaaaaaaaaaa');
    mkdirSync(empty, { mode: 0o700 });
    const full = join(dir, 'restore-drill-x-bbbbbbbbbbbb');
    mkdirSync(full, { mode: 0o700 });
    writeFileSync(join(full, 'data'), 'not ours to guess about');
    writeFileSync(join(records, `${dead}-000000000001.json`), JSON.stringify({ ...owner(dead), path: empty }));
    writeFileSync(join(records, `${dead}-000000000002.json`), JSON.stringify({ ...owner(dead), path: full }));
    writeFileSync(join(records, `${process.pid}-000000000003.json`), JSON.stringify({ ...owner(process.pid), path: full }));
    expect(sweepWorkDirs({ base: join(dir, 'empty'), records })).toBe(1);
    expect(existsSync(empty)).toBe(false);
    expect(existsSync(join(full, 'data'))).toBe(true);
    expect(readdirSync(records)).toEqual([`${process.pid}-000000000003.json`]);
  });

  it('a process forgets the records of folders it has removed', async () => {
    const { base, records } = place('forget');
    const recorded = () => readdirSync(records).map((f) => JSON.parse(readFileSync(join(records, f), 'utf8')).path as string);
    const first = await makeWorkDir('drill', { base, records });
    rmSync(first, { recursive: true }); // removed by other means: the record goes at its next folder
    const second = await makeWorkDir('drill', { base, records });
    expect(recorded()).toEqual([second]);
    await removeWorkDir(second); // the drills' way: folder and record at once
    expect(existsSync(second)).toBe(false);
    expect(recorded()).toEqual([]);
  });
});
