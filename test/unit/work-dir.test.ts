import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeWorkDir, sweepWorkDirs } from '../../harness/runtime/work-dir.ts';

/** The pid of a process that has ended. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('work folders', () => {
  it('are private and name their owner; a sweep removes those whose owner is gone and keeps a live one', async () => {
    const base = mkdtempSync(join(tmpdir(), 'rd-work-'));
    const mine = await makeWorkDir('drill', base);
    expect(statSync(mine).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(join(mine, '.restore-drill-owner.json'), 'utf8'))).toEqual({ 'io.restore-drill.owner-pid': String(process.pid), 'io.restore-drill.owner-host': hostname() });
    const orphan = await makeWorkDir('drill', base);
    writeFileSync(join(orphan, 'master.key'), 'secret bytes');
    writeFileSync(join(orphan, '.restore-drill-owner.json'), JSON.stringify({ 'io.restore-drill.owner-pid': String(deadPid()), 'io.restore-drill.owner-host': hostname() }));
    const stranger = mkdtempSync(join(base, 'restore-drill-unlabelled-'));
    expect(sweepWorkDirs({ base })).toBe(1);
    expect(existsSync(orphan)).toBe(false);
    expect(existsSync(mine)).toBe(true);
    expect(existsSync(stranger)).toBe(true); // never guess about a folder that names no owner
    expect(sweepWorkDirs({ base, all: true })).toBe(1);
    expect(existsSync(mine)).toBe(false);
  });
});
