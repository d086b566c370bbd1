import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../harness/cli.ts';
import { ExitCode } from '../../harness/errors.ts';
import { notifyPayload, notifyRun, notifyTarget, type NotifyPayload } from '../../harness/notify/notify.ts';
import type { RunReport } from '../../harness/report/run-report.ts';
import type { DrillReport } from '../../harness/model/types.ts';

/** A loopback hook: records each post, answers with the status the test sets (or never, when told to hang). */
interface Hook {
  url: string;
  posts: Array<{ path: string; auth: string | undefined; type: string | undefined; body: NotifyPayload }>;
  status: number;
  hang: boolean;
  server: Server;
}

async function startHook(): Promise<Hook> {
  const hook = { posts: [], status: 200, hang: false } as unknown as Hook;
  hook.server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      hook.posts.push({ path: req.url ?? '', auth: req.headers.authorization, type: req.headers['content-type'], body: JSON.parse(body) as NotifyPayload });
      if (hook.hang) return; // never answers: the poster must give up on its own
      res.writeHead(hook.status, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => hook.server.listen(0, '127.0.0.1', r));
  hook.url = `http://127.0.0.1:${(hook.server.address() as AddressInfo).port}`;
  return hook;
}

/** A port nothing listens on: bound, then closed. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function drill(file: string, verdict: DrillReport['verdict'], summary: string): DrillReport {
  return {
    drillId: `d-${file}`, profile: 'z4j', archive: { path: `/backups/${file}`, file }, verdict, summary,
    stages: [], checks: [], startedAt: '2026-12-05T01:00:00.000Z', finishedAt: '2026-12-05T01:02:00.000Z', durationMs: 120_000,
  };
}

function run(status: RunReport['status'], drills: DrillReport[]): RunReport {
  return { tool: { name: 'restore-drill', version: '0.1.0' }, status, startedAt: '2026-12-05T01:00:00.000Z', finishedAt: '2026-12-05T01:05:00.000Z', drills };
}

const SECRET_PATH = '/services/T0001/B0002/XsecretTokenInPath';

describe('notifications', () => {
  let hook: Hook;
  let said: string[];
  const say = (l: string) => void said.push(l);
  beforeAll(async () => void (hook = await startHook()));
  afterAll(() => new Promise((r) => hook.server.close(r)));
  beforeEach(() => {
    hook.posts = [];
    hook.status = 200;
    hook.hang = false;
    said = [];
  });

  const failedRun = run('failed', [drill('a.db', 'passed', 'all checks passed'), drill('b<1>.db', 'failed', 'compare: count.users expected 3, observed 2'), drill('c.db', 'error', 'restore: timed out')]);

  it('posts the JSON summary and a Slack text for a failed run, with user:password as Basic authorization', async () => {
    const target = notifyTarget(`http://ops:hunter2@${hook.url.slice(7)}${SECRET_PATH}?token=qq1`, undefined, {})!;
    expect(target.on).toBe('failure');
    expect(await notifyRun(target, failedRun, { say, reports: [{ reporter: 'html', path: '/r/report.html' }] })).toBe(true);
    expect(hook.posts).toHaveLength(1);
    const p = hook.posts[0]!;
    expect(p.path).toBe(`${SECRET_PATH}?token=qq1`);
    expect(p.type).toBe('application/json');
    expect(Buffer.from(p.auth!.replace(/^Basic /, ''), 'base64').toString()).toBe('ops:hunter2');
    expect(p.body.restoreDrill).toMatchObject({ status: 'failed', counts: { passed: 1, failed: 1, error: 1 }, reports: [{ reporter: 'html', path: '/r/report.html' }] });
    expect(p.body.restoreDrill.drills.map((d) => [d.archive, d.verdict])).toEqual([['/backups/a.db', 'passed'], ['/backups/b<1>.db', 'failed'], ['/backups/c.db', 'error']]);
    // Slack text: problems first, mrkdwn's control characters escaped.
    const lines = p.body.text.split('\n');
    expect(lines[0]).toMatch(/^:x: restore-drill run \*failed\* on .+: 1 passed, 1 failed, 1 error$/);
    expect(lines[1]).toBe('• *FAILED* `b&lt;1&gt;.db`: compare: count.users expected 3, observed 2');
    expect(lines[2]).toBe('• *ERROR* `c.db`: restore: timed out');
    expect(lines[3]).toBe('• *PASSED* `a.db`');
    expect(said).toEqual([`notified ${hook.url} (HTTP 200)`]);
  });

  it('on the default policy a passed run posts nothing; --notify-on always posts it too', async () => {
    const passed = run('passed', [drill('a.db', 'passed', 'all checks passed')]);
    expect(await notifyRun(notifyTarget(hook.url, undefined, {})!, passed, { say })).toBe(false);
    expect(hook.posts).toHaveLength(0);
    expect(said).toEqual([]);
    expect(await notifyRun(notifyTarget(hook.url, 'always', {})!, passed, { say })).toBe(true);
    expect(hook.posts).toHaveLength(1);
    expect(hook.posts[0]!.body.restoreDrill.status).toBe('passed');
    expect(hook.posts[0]!.body.text).toMatch(/^:white_check_mark: /);
  });

  it('a 500, a dead port and a hook that never answers are each one warning naming the host only', async () => {
    const secretUrl = (base: string) => `http://ops:hunter2@${base.slice(7)}${SECRET_PATH}?token=qq1`;
    hook.status = 500;
    expect(await notifyRun(notifyTarget(secretUrl(hook.url), undefined, {})!, failedRun, { say })).toBe(false);
    const dead = `http://127.0.0.1:${await deadPort()}`;
    expect(await notifyRun(notifyTarget(secretUrl(dead), undefined, {})!, failedRun, { say })).toBe(false);
    hook.status = 200;
    hook.hang = true;
    expect(await notifyRun(notifyTarget(secretUrl(hook.url), undefined, {})!, failedRun, { say, timeoutMs: 300 })).toBe(false);
    expect(said).toEqual([
      `warning: the notification to ${hook.url} was not accepted: HTTP 500; the run's result stands`,
      `warning: the notification to ${dead} failed: connection refused; the run's result stands`,
      `warning: the notification to ${hook.url} failed: no answer within 0.3 s; the run's result stands`,
    ]);
    for (const secret of ['hunter2', 'XsecretTokenInPath', 'qq1', 'ops:']) expect(said.join('\n')).not.toContain(secret);
  });

  it('refuses a URL that is not http(s) without repeating it', () => {
    for (const bad of ['not a url with s3cr3t', 'ftp://u:s3cr3t@host/x', 'file:///s3cr3t']) {
      expect(() => notifyTarget(bad, undefined, {})).toThrow(/--notify takes an http:\/\/ or https:\/\/ URL/);
      try {
        notifyTarget(bad, undefined, {});
      } catch (e) {
        expect((e as Error).message).not.toContain('s3cr3t');
      }
    }
    expect(() => notifyTarget(undefined, 'always', {})).toThrow(/--notify-on goes with --notify/);
    expect(notifyTarget(undefined, undefined, { RESTORE_DRILL_NOTIFY: 'https://hooks.example.test/x' })!.url.host).toBe('hooks.example.test');
  });

  it('caps the Slack text at 20 named drills and counts the rest', () => {
    const many = run('failed', Array.from({ length: 25 }, (_, i) => drill(`n${i}.db`, 'failed', 'x')));
    const p = notifyPayload(many);
    expect(p.text.split('\n')).toHaveLength(22);
    expect(p.text).toContain('• … and 5 more');
    expect(p.restoreDrill.drills).toHaveLength(25);
  });
});

/**
 * The CLI end to end, without a container engine: a folder whose archive has
 * no manifest ends the run `error` (exit 3) before any engine is needed.
 */
describe('run --notify', () => {
  let hook: Hook;
  let stderr: string[];
  let stdout: string[];
  const dir = mkdtempSync(join(tmpdir(), 'rd-notify-'));
  writeFileSync(join(dir, 'nightly.db'), 'not drilled: no manifest beside it');
  beforeAll(async () => void (hook = await startHook()));
  afterAll(() => new Promise((r) => hook.server.close(r)));
  beforeEach(() => {
    hook.posts = [];
    hook.status = 200;
    stderr = [];
    stdout = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (stderr.push(String(s)), true));
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (stdout.push(String(s)), true));
    vi.stubEnv('DOCKER_HOST', 'tcp://127.0.0.1:1');
    vi.stubEnv('RESTORE_DRILL_NOTIFY', '');
    vi.stubEnv('CI', 'true');
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  const cli = (...args: string[]) => main(['node', 'restore-drill', 'run', '--profile', 'z4j', '--no-history', ...args, dir]);

  it('posts when the run ends in error and keeps exit 3; the secret part of the URL is never printed', async () => {
    expect(await cli('--notify', `${hook.url}${SECRET_PATH}`)).toBe(ExitCode.error);
    expect(stdout.join('')).toMatch(/^ERROR +nightly\.db /m);
    expect(hook.posts).toHaveLength(1);
    const body = hook.posts[0]!.body;
    expect(hook.posts[0]!.path).toBe(SECRET_PATH);
    expect(body.restoreDrill.status).toBe('error');
    expect(body.restoreDrill.drills).toEqual([expect.objectContaining({ archive: join(dir, 'nightly.db'), verdict: 'error', summary: expect.stringContaining('unproven') })]);
    expect(stderr.join('')).toContain(`notified ${hook.url} (HTTP 200)`);
    expect(stderr.join('') + stdout.join('')).not.toContain('XsecretTokenInPath');
  });

  it('takes the URL from $RESTORE_DRILL_NOTIFY', async () => {
    vi.stubEnv('RESTORE_DRILL_NOTIFY', `${hook.url}${SECRET_PATH}`);
    expect(await cli()).toBe(ExitCode.error);
    expect(hook.posts).toHaveLength(1);
  });

  it('a hook answering 500 or a dead port is a warning; the exit code stays the verdict\'s', async () => {
    hook.status = 500;
    expect(await cli('--notify', `${hook.url}${SECRET_PATH}`, '--notify-on', 'always')).toBe(ExitCode.error);
    expect(hook.posts).toHaveLength(1);
    const dead = `http://127.0.0.1:${await deadPort()}`;
    expect(await cli('--notify', `${dead}${SECRET_PATH}`)).toBe(ExitCode.error);
    const err = stderr.join('');
    expect(err).toContain(`restore-drill: warning: the notification to ${hook.url} was not accepted: HTTP 500`);
    expect(err).toContain(`restore-drill: warning: the notification to ${dead} failed: connection refused`);
    expect(err).not.toContain('XsecretTokenInPath');
  });

  it('a run that cannot go on (no container engine answers) posts why, and still exits 3', async () => {
    const planned = mkdtempSync(join(tmpdir(), 'rd-notify-engine-'));
    const manifest = JSON.parse(readFileSync('test/unit/fixtures/manifests/z4j-sqlite-1.13.0.manifest.json', 'utf8')) as { archive: { file: string } };
    const archive = join(planned, manifest.archive.file);
    writeFileSync(archive, 'never read: the engine is not there');
    writeFileSync(`${archive}.manifest.json`, JSON.stringify(manifest));
    expect(await main(['node', 'restore-drill', 'run', '--profile', 'z4j', '--no-history', '--notify', hook.url, archive])).toBe(ExitCode.error);
    expect(hook.posts).toHaveLength(1);
    const body = hook.posts[0]!.body;
    expect(body.restoreDrill).toMatchObject({ status: 'error', drills: [], problem: expect.stringContaining('DOCKER_HOST=tcp://127.0.0.1:1 does not answer') });
    expect(body.text).toContain('the run could not finish: ');
  });

  it('a bad URL is a usage error before anything runs, and is not repeated', async () => {
    expect(await cli('--notify', 'mailto:someone-s3cr3t@example.test')).toBe(ExitCode.usage);
    expect(hook.posts).toHaveLength(0);
    expect(stderr.join('')).toMatch(/--notify takes an http:\/\/ or https:\/\/ URL/);
    expect(stderr.join('')).not.toContain('s3cr3t');
    expect(await cli('--notify', hook.url, '--notify-on', 'sometimes')).toBe(ExitCode.usage);
  });
});
