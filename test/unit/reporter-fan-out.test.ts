import { describe, expect, it } from 'vitest';
import { ReporterFanOut } from '../../harness/report/fan-out.ts';
import type { Reporter } from '../../harness/report/reporter.ts';
import type { RunReport } from '../../harness/report/run-report.ts';
import type { DrillReport } from '../../harness/model/types.ts';

const report = { archive: { path: '/b/x.db', file: 'x.db' } } as DrillReport;
const run = { status: 'passed', drills: [] } as unknown as RunReport;

function broken(name: string): Reporter {
  const fail = () => {
    throw new Error(`${name} is broken`);
  };
  return { name, onRunStart: fail, onDrillStart: fail, onStage: fail, onProgress: fail, onDrillEnd: fail, onRunEnd: async () => fail() };
}

function recording(name: string, calls: string[]): Reporter {
  return {
    name,
    onRunStart: (a) => void calls.push(`start ${a.join(',')}`),
    onDrillStart: (a) => void calls.push(`drill ${a}`),
    onStage: (a, s) => void calls.push(`stage ${a} ${s}`),
    onProgress: (a, t) => void calls.push(`progress ${a} ${t}`),
    onDrillEnd: (r) => void calls.push(`end ${r.archive.path}`),
    onRunEnd: async () => `/out/${name}.json`,
  };
}

describe('reporters fanned out', () => {
  it('a reporter failing in any hook is said, and the next one still gets every call', async () => {
    const said: string[] = [];
    const calls: string[] = [];
    const fan = new ReporterFanOut([broken('junit'), recording('json', calls)], (l) => said.push(l));
    await fan.onRunStart(['/b/x.db']);
    fan.onDrillStart('/b/x.db');
    fan.onStage('/b/x.db', 'restore');
    fan.onProgress('/b/x.db', '12 rows');
    fan.onDrillEnd(report);
    const end = await fan.onRunEnd(run, {});
    expect(calls).toEqual(['start /b/x.db', 'drill /b/x.db', 'stage /b/x.db restore', 'progress /b/x.db 12 rows', 'end /b/x.db']);
    expect(said.filter((l) => l.startsWith('warning: the junit reporter failed'))).toHaveLength(5);
    expect(said).toContain('warning: the junit reporter failed on /b/x.db: junit is broken');
    expect(said).toContain('error: the junit report could not be written: junit is broken');
    expect(said).toContain('json report: /out/json.json');
    expect(end).toEqual({ written: [{ reporter: 'json', path: '/out/json.json' }], lost: true });
  });

  it('nothing lost when every reporter writes; progress is wanted only where a reporter shows it', async () => {
    const fan = new ReporterFanOut([recording('json', [])], () => {});
    expect(await fan.onRunEnd(run, {})).toEqual({ written: [{ reporter: 'json', path: '/out/json.json' }], lost: false });
    expect(fan.wantsProgress).toBe(true);
    expect(new ReporterFanOut([{ name: 'markdown' }], () => {}).wantsProgress).toBe(false);
  });
});
