import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeZ4jDeployment, type Deployment } from '../../scenarios/z4j/sample/deployment.ts';
import { Z4J_PINNED_VERSION } from '../../scenarios/z4j/version.ts';
import { parseEnvFile } from '../../harness/model/secrets.ts';
import { capture } from '../helpers/drill.ts';
import { skipReason } from './engine.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

/**
 * The CLI with a pseudo-terminal for its stdout and stderr (util-linux
 * `script`), as an operator at a terminal runs it. Asynchronous, so the
 * test's own loopback hook can answer while it runs.
 */
function underPty(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  const cmd = [process.execPath, 'bin/restore-drill.mjs', ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qfec', cmd, '/dev/null'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((r) => child.on('exit', (code) => r({ code, out })));
}

describe.skipIf(skipReason)('a real drill at a terminal: live progress, and no notification when it passes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-live-'));
  let dep: Deployment;
  let secretValues: string[];
  const posts: string[] = [];
  const hook = createServer((req, res) => {
    req.resume();
    req.on('end', () => (posts.push(req.url ?? ''), res.end('ok')));
  });

  beforeAll(async () => {
    const runtime = await testRuntime();
    dep = await makeZ4jDeployment({ runtime, version: Z4J_PINNED_VERSION, outDir: dir, name: 'nightly.db' });
    await capture('z4j', dep.archive, dep.secrets);
    secretValues = [...parseEnvFile(readFileSync(dep.secrets, 'utf8')).values()];
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  });
  afterAll(() => new Promise((r) => hook.close(r)));

  it('on a terminal: the live line names the stage, the elapsed time and the command running; no post for a passed run', async () => {
    const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    const r = await underPty(['run', '--profile', 'z4j', '--secrets', dep.secrets, '--history', join(dir, 'history.sqlite'), '--reporter', `console,html=${join(dir, 'report.html')}`, '--notify', url, dep.archive], { CI: '' });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('\x1b[2A\x1b[0J'); // redrawn in place
    const frames = r.out.split(/\r?\n|\x1b\[\d+A\x1b\[0J/);
    expect(frames.some((l) => /nightly\.db: restore \d+s · z4j restore$/.test(l)), r.out).toBe(true);
    expect(r.out).toMatch(/PASSED nightly\.db /);
    expect(r.out).not.toMatch(/Z nightly\.db: restore/);
    for (const s of secretValues) expect(r.out).not.toContain(s);
    // --notify-on failure (the default): a passed run posts nothing.
    expect(posts).toEqual([]);
    expect(r.out).not.toContain('notified');
    // The drill's row links its HTML report on the recoverability page.
    const page = join(dir, 'recoverability.html');
    const h = await underPty(['history', '--history', join(dir, 'history.sqlite'), '--html', page], { CI: 'true' });
    expect(h.code, h.out).toBe(0);
    expect(existsSync(page)).toBe(true);
    expect(readFileSync(page, 'utf8')).toMatch(/<tr class="drill passed"[^\n]*<a href="report\.html">report<\/a>/);
  });

  it('with CI=true at a terminal: plain timestamped stage lines, nothing redrawn; --notify-on always posts', async () => {
    const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    const r = await underPty(['run', '--profile', 'z4j', '--secrets', dep.secrets, '--no-history', '--notify', url, '--notify-on', 'always', dep.archive], { CI: 'true' });
    expect(r.code, r.out).toBe(0);
    expect(r.out).not.toContain('\x1b[');
    for (const stage of ['integrity', 'provision', 'restore', 'probe', 'compare']) expect(r.out).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z nightly\\.db: ${stage}\\r?$`, 'm'));
    expect(r.out).not.toContain('·');
    expect(posts).toEqual(['/hook']);
    expect(r.out).toContain(`notified http://127.0.0.1:${(hook.address() as AddressInfo).port} (HTTP 200)`);
  });
});
