import { dockerRuntime } from '../../harness/runtime/docker.ts';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRILL_ID_LABEL, MANAGED_LABEL, OWNER_PID_LABEL } from '../../harness/runtime/index.ts';
import { ensureEngine } from '../../harness/runtime/engine.ts';
import { planDrills } from '../../harness/drill/plan.ts';
import { runDrill } from '../../harness/drill/run-drill.ts';
import { RunReportSchema } from '../../harness/report/schema.ts';
import { makeZ4jDeployment, type Deployment } from '../../scenarios/z4j/sample/deployment.ts';
import { Z4J_PINNED_VERSION } from '../../scenarios/z4j/version.ts';
import { capture, drill, variant } from '../helpers/drill.ts';
import fc from 'fast-check';
import { skipReason } from './engine.ts';
import { leftovers, own } from '../helpers/leftovers.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

/** Runs the CLI as a user would; `onErr` sees stderr as it comes. */
function cli(args: string[], env: NodeJS.ProcessEnv, onErr?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<{ code: number | null; stderr: string }> {
  const child = own(spawn(process.execPath, ['bin/restore-drill.mjs', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    onErr?.(stderr, child);
  });
  child.stdout.resume();
  return new Promise((r) => child.on('exit', (code) => r({ code, stderr })));
}

describe.skipIf(skipReason)('faults', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-faults-'));
  let dep: Deployment;
  const tiny = join(dir, 'tiny-tmp');

  beforeAll(async () => {
    const runtime = await testRuntime();
    dep = await makeZ4jDeployment({ runtime, version: Z4J_PINNED_VERSION, outDir: dir, name: 'fault.db' });
    await capture('z4j', dep.archive, dep.secrets);
    mkdirSync(tiny);
    // A temp folder far too small for a copy of the backup (root can mount here; the drills do too).
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', tiny]);
    if (m.status !== 0) throw new Error(`cannot mount a tiny tmpfs for the test: ${m.stderr.toString()}`);
  });
  afterAll(() => {
    spawnSync('umount', [tiny]);
  });

  it('SIGTERM in the middle of the probe: exit 130, a partial report, nothing left', async () => {
    const before = await leftovers();
    const json = join(dir, 'probe-term.json');
    let sent = false;
    const r = await cli(['run', '--profile', 'z4j', '--secrets', dep.secrets, '--json', json, '--no-history', dep.archive], {}, (text, child) => {
      if (!sent && /: probe\n/.test(text)) {
        sent = true;
        child.kill('SIGTERM');
      }
    });
    expect(sent).toBe(true);
    expect(r.code).toBe(130);
    const run = RunReportSchema.parse(JSON.parse(readFileSync(json, 'utf8')));
    expect(run.status).toBe('interrupted');
    expect(run.drills[0]!.summary).toMatch(/interrupted in stage (probe|compare)/);
    expect(await leftovers()).toEqual(before);
  });

  it('a container that stops answering (paused) ends the drill at --timeout, naming the stage, and is removed', async () => {
    const { docker } = await ensureEngine();
    const before = await leftovers();
    const [plan] = await planDrills({ profile: 'z4j', archives: [dep.archive], secrets: dep.secrets });
    let paused = false;
    let pausing = false;
    const report = await runDrill(plan!, {
      runtime: dockerRuntime(await ensureEngine()),
      timeoutMs: 45_000,
      onStage: (_a, stage) => {
        if (stage !== 'restore' || pausing) return;
        pausing = true;
        // Paused once z4j's restore is running in it: a container frozen just as an exec
        // starts wedges the engine itself (Docker 20.10, cgroup v1: nothing can remove it
        // until its freezer is thawed by hand), which is not what this test is about.
        void (async () => {
          const [app] = await docker.listContainers({ filters: JSON.stringify({ label: [`${MANAGED_LABEL}=true`, 'io.restore-drill.role=app', `${OWNER_PID_LABEL}=${process.pid}`] }) }); // this test's drill only: others may run on the engine
          if (!app) return;
          const c = docker.getContainer(app.Id);
          for (let i = 0; i < 200 && !paused; i++) {
            const top = await c.top({ ps_args: '-eo pid,args' });
            if (top.Processes?.some((p: string[]) => /z4j restore/.test(p.join(' ')))) {
              await c.pause();
              paused = true;
            } else await new Promise((r) => setTimeout(r, 50));
          }
        })().catch(() => {}); // not paused: the assertion on `paused` below says so
      },
    });
    expect(paused).toBe(true);
    expect([report.verdict, report.checks.filter((c) => c.status !== 'pass').map((c) => `${c.stage}/${c.id}: ${c.reason}`)]).toEqual(['error', expect.anything()]);
    // The engine refuses a command in the paused container at once, or one already
    // running is cut off, or it hangs until --timeout: error, naming the stage, every way
    // (never `failed`: the application did not say the backup is bad).
    expect(report.summary).toMatch(
      /^(restore|probe): (timed out in stage (restore|probe): the drill did not finish within 45 s \(--timeout\)|the harness could not finish stage (restore|probe): .*(is paused|stopped running while .* ran \(paused, killed or removed\)))/,
    );
    const left = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${DRILL_ID_LABEL}=${report.drillId}`] }) });
    expect(left).toEqual([]);
    expect(await leftovers()).toEqual(before);
  });

  it('a seeded sample of the hostile corpus, drilled in real containers: never passed, nothing left', async () => {
    const before = await leftovers();
    const good = readFileSync(dep.archive);
    const { sha256File } = await import('../../harness/archive/hash.ts');
    const samples = fc.sample(
      fc.record({ at: fc.array(fc.integer({ min: 4096, max: good.length - 1 }), { minLength: 1, maxLength: 6 }), xor: fc.integer({ min: 1, max: 255 }), cut: fc.boolean() }),
      { seed: 20261122, numRuns: 4 },
    );
    for (const [i, s] of samples.entries()) {
      // Damaged after capture but before its checksum was recorded: only the drill's own checks can tell.
      const archive = variant(dep.archive, `hostile-${i}.db`);
      let bytes = Buffer.from(good);
      for (const at of s.at) bytes[at] = bytes[at]! ^ s.xor;
      if (s.cut) bytes = bytes.subarray(0, s.at[0]!);
      writeFileSync(archive, bytes);
      const m = JSON.parse(readFileSync(`${archive}.manifest.json`, 'utf8')) as { archive: { sha256: string; sizeBytes: number } };
      m.archive.sha256 = await sha256File(archive);
      m.archive.sizeBytes = bytes.length;
      writeFileSync(`${archive}.manifest.json`, JSON.stringify(m));
      const r = await drill('z4j', archive, { secrets: dep.secrets });
      expect([i, r.verdict]).not.toEqual([i, 'passed']);
      expect(r.summary.split('\n')).toHaveLength(1);
    }
    expect(await leftovers()).toEqual(before);
  });

  it('a temp folder too small for the work ends the drill error with the reason, not a crash', async () => {
    const json = join(dir, 'tiny.json');
    const r = await cli(['run', '--profile', 'z4j', '--secrets', dep.secrets, '--json', json, '--no-history', dep.archive], { TMPDIR: tiny, TSX_DISABLE_CACHE: '1' }); // tsx would fill it with its own cache first
    expect(r.code).toBe(3);
    expect(r.stderr).not.toMatch(/unexpected error|^\s+at /m);
    const run = RunReportSchema.parse(JSON.parse(readFileSync(json, 'utf8')));
    expect(run.drills[0]!.verdict).toBe('error');
    expect(run.drills[0]!.summary).toMatch(/^inspect: the harness could not finish stage inspect: ENOSPC/);
    expect(readdirSync(tiny).filter((f) => f.startsWith('restore-drill-'))).toEqual([]);
  });
});
