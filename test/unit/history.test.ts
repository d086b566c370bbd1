import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { History, parseDuration } from '../../harness/history/store.ts';
import { historyCommand } from '../../harness/commands/history.ts';
import { sampleRun } from '../helpers/sample-report.ts';

function writer(path: string, who: string, n: number): Promise<number | null> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/unit/fixtures/history-writer.ts', path, who, String(n)], { stdio: ['ignore', 'inherit', 'inherit'] });
  return new Promise((resolve) => child.on('exit', resolve));
}

describe('drill history', () => {
  it('takes two concurrent writers without losing a row', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'rd-hist-')), 'history.sqlite');
    new History(path).close();
    const codes = await Promise.all([writer(path, 'a', 300), writer(path, 'b', 300)]);
    expect(codes).toEqual([0, 0]);
    const h = new History(path);
    const rows = h.drills();
    h.close();
    expect(rows).toHaveLength(600);
    expect(new Set(rows.map((r) => r.drillId)).size).toBe(600);
  });

  it('summarises pass rate and restore trend within --since', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'rd-hist-')), 'h.sqlite');
    const h = new History(path);
    const [ok, bad] = sampleRun().drills;
    h.record({ ...ok!, drillId: 'old', finishedAt: '2026-09-01T00:00:00.000Z' });
    h.record({ ...ok!, drillId: 'recent-1', finishedAt: '2026-11-20T00:00:00.000Z' });
    h.record({ ...bad!, drillId: 'recent-2', finishedAt: '2026-11-21T00:00:00.000Z' });
    h.close();
    const lines: string[] = [];
    expect(await historyCommand({ history: path, since: '30d', maxAge: '7d', paths: [], now: new Date('2026-11-22T00:00:00Z'), print: (l) => lines.push(l) })).toBe(0);
    expect(lines[0]).toBe('2 drills in the last 30d: 1 passed, 1 failed, 0 error; pass rate 50.0%');
    expect(lines[1]).toMatch(/^restore time: 0\.4 s average/);
  });

  it('--coverage lists archives without a passed drill in the window, by content, and manifest-less ones as unproven; exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rd-cov-'));
    const backups = join(dir, 'backups');
    mkdirSync(backups);
    const sha = (f: string) => createHash('sha256').update(`content of ${f}`).digest('hex');
    for (const f of ['fresh.db', 'stale.db', 'never.db', 'latest.db']) {
      writeFileSync(join(backups, f), `content of ${f}`);
      writeFileSync(join(backups, `${f}.manifest.json`), '{}');
    }
    writeFileSync(join(backups, 'orphan.db'), 'a backup whose manifest was never captured');
    const path = join(dir, 'h.sqlite');
    const h = new History(path);
    const [ok, bad] = sampleRun().drills;
    const at = (f: string, sha256: string) => ({ ...ok!.archive, path: join(backups, f), sha256 });
    h.record({ ...ok!, drillId: '1', archive: at('fresh.db', sha('fresh.db')), finishedAt: '2026-11-21T00:00:00.000Z' });
    h.record({ ...ok!, drillId: '2', archive: at('stale.db', sha('stale.db')), finishedAt: '2026-10-01T00:00:00.000Z' });
    h.record({ ...bad!, drillId: '3', archive: at('stale.db', sha('stale.db')), finishedAt: '2026-11-21T00:00:00.000Z' });
    // latest.db passed yesterday, but as another file: it has been overwritten since.
    h.record({ ...ok!, drillId: '4', archive: at('latest.db', sha('an older latest.db')), finishedAt: '2026-11-21T00:00:00.000Z' });
    h.close();
    const lines: string[] = [];
    const code = await historyCommand({ history: path, since: '30d', coverage: true, maxAge: '7d', paths: [backups], now: new Date('2026-11-22T00:00:00Z'), print: (l) => lines.push(l) });
    expect(code).toBe(1);
    expect(lines).toEqual([
      `${join(backups, 'latest.db')}\tnever passed a drill (as it is now: its content has no passed drill)`,
      `${join(backups, 'never.db')}\tnever passed a drill (as it is now: its content has no passed drill)`,
      `${join(backups, 'orphan.db')}\tunproven: no manifest beside it, so it cannot be drilled`,
      `${join(backups, 'stale.db')}\tlast passed 2026-10-01T00:00:00.000Z`,
      '4 of 5 archives without a passed drill in the last 7d',
    ]);
  });

  it('reads durations', () => {
    expect(parseDuration('7d')).toBe(7 * 86_400_000);
    expect(() => parseDuration('7 days')).toThrow(/not a duration/);
  });
});
