import { dockerRuntime } from '../../harness/runtime/docker.ts';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureEngine } from '../../harness/runtime/engine.ts';
import { runCommand } from '../../harness/commands/run.ts';
import { planDrills } from '../../harness/drill/plan.ts';
import { runDrill } from '../../harness/drill/run-drill.ts';
import { RunReportSchema } from '../../harness/report/schema.ts';
import { makeZ4jDeployment, type Deployment } from '../../scenarios/z4j/sample/deployment.ts';
import { Z4J_PINNED_VERSION } from '../../scenarios/z4j/version.ts';
import { capture, variant } from '../helpers/drill.ts';
import { skipReason } from './engine.ts';
import { leftovers, own } from '../helpers/leftovers.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

function flipByte(path: string): void {
  const fd = openSync(path, 'r+');
  const b = Buffer.alloc(1);
  const at = statSync(path).size - 64;
  readSync(fd, b, 0, 1, at);
  writeSync(fd, Buffer.from([b[0]! ^ 1]), 0, 1, at);
  closeSync(fd);
}

describe.skipIf(skipReason)('nightly runs over many archives', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-nightly-'));
  const folder = join(dir, 'backups');
  let dep: Deployment;
  const expected: Record<string, string> = {};

  beforeAll(async () => {
    const runtime = await testRuntime();
    dep = await makeZ4jDeployment({ runtime, version: Z4J_PINNED_VERSION, outDir: folder, name: 'base.db' });
    await capture('z4j', dep.archive, dep.secrets);
    // Six archives in one folder: four good, one whose count is off, one with a flipped byte.
    for (let i = 1; i <= 4; i++) {
      variant(dep.archive, `good-${i}.db`);
      expected[`good-${i}.db`] = 'passed';
    }
    variant(dep.archive, 'count-off.db', (m) => {
      m.expectations.counts.tasks = (m.expectations.counts.tasks as number) + 1;
    });
    expected['count-off.db'] = 'failed';
    flipByte(variant(dep.archive, 'flipped.db'));
    expected['flipped.db'] = 'failed';
    // The base itself stays out of the folder's drills.
    const { renameSync, mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'elsewhere'));
    renameSync(dep.archive, join(dir, 'elsewhere', 'base.db'));
    renameSync(`${dep.archive}.manifest.json`, join(dir, 'elsewhere', 'base.db.manifest.json'));
  });

  it('drills 6 archives with --jobs 2: every verdict right, nothing left behind', async () => {
    const before = await leftovers();
    const json = join(dir, 'six.json');
    const code = await runCommand({ profile: 'z4j', archives: [folder], secrets: dep.secrets, jobs: 2, reporters: [`json=${json}`], history: join(dir, 'h.sqlite'), out: () => {}, say: () => {} });
    const run = RunReportSchema.parse(JSON.parse(readFileSync(json, 'utf8')));
    expect(Object.fromEntries(run.drills.map((d) => [d.archive.file, d.verdict]))).toEqual(expected);
    expect(code).toBe(1);
    const overlap = run.drills.some((a) => run.drills.some((b) => a !== b && a.startedAt < b.finishedAt && b.startedAt < a.finishedAt));
    expect(overlap).toBe(true); // two at once, really
    expect(await leftovers()).toEqual(before);
  });

  it('--sample 2 --seed 7 picks the same two archives twice', async () => {
    const picks: string[][] = [];
    for (let i = 0; i < 2; i++) {
      const json = join(dir, `sample-${i}.json`);
      await runCommand({ profile: 'z4j', archives: [join(folder, '*.db')], secrets: dep.secrets, selection: { sample: 2, seed: 7 }, reporters: [`json=${json}`], history: false, out: () => {}, say: () => {} });
      picks.push(RunReportSchema.parse(JSON.parse(readFileSync(json, 'utf8'))).drills.map((d) => d.archive.file));
    }
    expect(picks[0]).toHaveLength(2);
    expect(picks[1]).toEqual(picks[0]);
  });

  it('a drill that exceeds its timeout ends error naming its stage; a drill beside it is unaffected', async () => {
    const { docker } = await ensureEngine();
    const engine = await ensureEngine();
    const [slow, fine] = await planDrills({ profile: 'z4j', archives: [join(folder, 'good-1.db'), join(folder, 'good-2.db')], secrets: dep.secrets });
    const [timedOut, passed] = await Promise.all([runDrill(slow!, { runtime: dockerRuntime(engine), timeoutMs: 2_500 }), runDrill(fine!, { runtime: dockerRuntime(engine) })]);
    expect(timedOut.verdict).toBe('error');
    expect(timedOut.summary).toMatch(/^(provision|restore|probe): timed out in stage (provision|restore|probe): the drill did not finish within 2\.5 s/);
    expect(passed.verdict).toBe('passed');
    const filters = JSON.stringify({ label: [`io.restore-drill.drill-id=${timedOut.drillId}`] });
    expect(await docker.listContainers({ all: true, filters })).toEqual([]);
  });

  it('--deadline ends the running drill naming its stage and starts no other', async () => {
    const json = join(dir, 'deadline.json');
    const code = await runCommand({ profile: 'z4j', archives: [join(folder, 'good-1.db'), join(folder, 'good-2.db')], secrets: dep.secrets, jobs: 1, deadlineMs: 3_000, reporters: [`json=${json}`], history: false, out: () => {}, say: () => {} });
    const run = RunReportSchema.parse(JSON.parse(readFileSync(json, 'utf8')));
    expect(code).toBe(3);
    expect(run.status).toBe('error');
    expect(run.drills[0]!.summary).toMatch(/^(provision|restore|probe): the run's --deadline passed while the drill was in stage (provision|restore|probe)$/);
    expect(run.drills[1]!.summary).toBe("plan: not started: the run's --deadline passed first");
  });

  it('SIGTERM in the middle of a restore: partial report "interrupted", non-zero exit, nothing left', async () => {
    const before = await leftovers();
    const json = join(dir, 'interrupted.json');
    const child = own(spawn(process.execPath, ['bin/restore-drill.mjs', 'run', '--profile', 'z4j', '--secrets', dep.secrets, '--jobs', '1', '--json', json, '--no-history', folder], { stdio: ['ignore', 'pipe', 'pipe'] }));
    let err = '';
    let sent = false;
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (!sent && /: restore\n/.test(err)) {
        sent = true;
        child.kill('SIGTERM');
      }
    });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(sent).toBe(true);
    expect(code).toBe(130);
    const run = RunReportSchema.parse(JSON.parse(readFileSync(json, 'utf8')));
    expect(run.status).toBe('interrupted');
    expect(run.drills).toHaveLength(6);
    expect(run.drills[0]!.summary).toMatch(/interrupted in stage restore/);
    expect(run.drills.slice(1).every((d) => d.summary === 'plan: not started: the run was interrupted first')).toBe(true);
    expect(await leftovers()).toEqual(before);
  });
});
