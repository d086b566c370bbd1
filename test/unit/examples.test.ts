import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { checkCommandLine } from '../../harness/cli.ts';

const EXAMPLES = new URL('../../examples/', import.meta.url).pathname;
const read = (p: string) => readFileSync(join(EXAMPLES, p), 'utf8');


describe('examples', () => {
  it('systemd units pass systemd-analyze verify', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rd-units-'));
    const stub = join(dir, 'restore-drill');
    writeFileSync(stub, '#!/bin/sh\nexit 0\n');
    chmodSync(stub, 0o755);
    for (const f of readdirSync(join(EXAMPLES, 'systemd'))) {
      writeFileSync(join(dir, f), read(`systemd/${f}`).replaceAll('/usr/local/bin/restore-drill', stub));
    }
    const ok = spawnSync('systemd-analyze', ['verify', join(dir, 'restore-drill.service'), join(dir, 'restore-drill.timer')], { encoding: 'utf8' });
    expect(ok.error, 'systemd-analyze is part of systemd on every Debian host').toBeUndefined();
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    // And the check is real: a broken unit is refused.
    writeFileSync(join(dir, 'restore-drill.timer'), read('systemd/restore-drill.timer').replace('OnCalendar=*-*-* 03:30:00', 'OnCalendar=someday'));
    const bad = spawnSync('systemd-analyze', ['verify', join(dir, 'restore-drill.timer')], { encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
    expect(read('systemd/restore-drill.timer')).toMatch(/^Persistent=true$/m);
    expect(read('systemd/restore-drill.service')).toMatch(/^User=restore-drill$/m);
  });

  it('every restore-drill command in the examples is one the CLI accepts', async () => {
    const lines = [
      ...read('systemd/restore-drill.service').split('\n').filter((l) => l.startsWith('ExecStart=')).map((l) => l.slice('ExecStart='.length)),
      ...read('cron/restore-drill').split('\n').filter((l) => /^[\d*]/.test(l)).map((l) => l.split(/\s+/).slice(6).join(' ')),
      ...Object.values((parseYaml(read('ci/restore-drill.yml')) as { jobs: Record<string, { steps: Array<{ run?: string }> }> }).jobs)
        .flatMap((j) => j.steps)
        .map((s) => s.run ?? '')
        .filter((r) => /restore-drill (run|gate)/.test(r))
        .map((r) => r.replace(/^npx /, '').replace(/\$\{\{[^}]*\}\}/g, '1.13.0')),
    ];
    expect(lines.length).toBeGreaterThanOrEqual(5);
    for (const line of lines) {
      const args = line.trim().split(/\s+/).slice(1).join(' ');
      const words = [...args.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
      await expect(checkCommandLine(words), line).resolves.toBeUndefined();
    }
    await expect(checkCommandLine(['run', '--profile', 'z4j', '--latest', 'x', 'a.db'])).rejects.toThrow(/--latest takes a whole number/);
  });

  it('the cron line has five time fields, a user and the command', () => {
    const line = read('cron/restore-drill').split('\n').find((l) => /^[\d*]/.test(l))!;
    const [min, hour, dom, mon, dow, user, cmd] = line.split(/\s+/);
    expect([min, hour, dom, mon, dow]).toEqual(['30', '3', '*', '*', '*']);
    expect(user).toBe('restore-drill');
    expect(cmd).toBe('restore-drill');
  });

  it('the CI workflow publishes the JUnit and Markdown reports', () => {
    const wf = parseYaml(read('ci/restore-drill.yml')) as { on: Record<string, unknown>; jobs: { drill: { steps: Array<{ run?: string; uses?: string; with?: { path?: string } }> } } };
    expect(Object.keys(wf.on)).toEqual(['schedule', 'workflow_dispatch']);
    const steps = wf.jobs.drill.steps;
    expect(steps.some((s) => s.run?.includes('--reporter junit=out/junit.xml') && s.run.includes('--reporter markdown'))).toBe(true);
    expect(steps.find((s) => s.uses?.startsWith('actions/upload-artifact'))?.with?.path).toBe('out/');
  });
});
