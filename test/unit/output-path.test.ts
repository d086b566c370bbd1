import { mkdirSync, mkdtempSync, readdirSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkOutputPath } from '../../harness/files/output-path.ts';

/** Every name that appeared in `dir` while `fn` ran (a probe made and removed at once still shows). */
async function namesSeen(dir: string, fn: () => void): Promise<string[]> {
  const seen: string[] = [];
  const w = watch(dir, (_e, name) => name && seen.push(String(name)));
  try {
    fn();
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    w.close();
  }
  return seen;
}

describe('checkOutputPath', () => {
  it('probes the folder that will hold the file, and writes nothing into an ancestor when folders are still to be made', async () => {
    const top = mkdtempSync(join(tmpdir(), 'rd-outpath-'));
    expect(await namesSeen(top, () => checkOutputPath(join(top, 'a', 'b', 'r.json'), 'json report'))).toEqual([]);
    expect(readdirSync(top)).toEqual([]); // and no folder made by the check
    mkdirSync(join(top, 'here'));
    const inside = await namesSeen(join(top, 'here'), () => checkOutputPath(join(top, 'here', 'r.json'), 'json report'));
    expect(inside.some((n) => n.startsWith('.restore-drill-probe-'))).toBe(true);
    expect(readdirSync(join(top, 'here'))).toEqual([]);
  });

  it('refuses a folder that cannot take files, whether it is the file\'s own or an ancestor of folders still to be made', () => {
    expect(() => checkOutputPath('/proc/r.json', 'json report')).toThrow(/does not take new files/);
    expect(() => checkOutputPath('/proc/self/x/r.json', 'json report')).toThrow(/does not take new files|is not a folder/);
  });
});
