import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureEngine } from '../../harness/runtime/index.ts';
import { runCommand } from '../../harness/commands/run.ts';
import { keygenCommand, verifyCommand } from '../../harness/commands/evidence.ts';
import { History } from '../../harness/history/store.ts';
import { RunReportSchema } from '../../harness/report/schema.ts';
import { makeZ4jDeployment, type Deployment } from '../../scenarios/z4j/sample/deployment.ts';
import { Z4J_PINNED_VERSION } from '../../scenarios/z4j/version.ts';
import { capture, variant } from '../helpers/drill.ts';
import { leftovers, own } from '../helpers/leftovers.ts';
import { skipReason } from './engine.ts';

/** The CLI as a worker or the merger runs it; resolves with its exit code and what it said. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; err: string }> {
  const child = own(spawn(process.execPath, ['bin/restore-drill.mjs', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } }));
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((ok) => child.on('exit', (code) => ok({ code, err })));
}

/**
 * The fleet's unit of work, for real and cheaply: a small selection drilled as
 * two shards by two CLI workers (each its own "node"), their reports merged
 * with the CLI, against one local run of the same selection.
 */
describe.skipIf(skipReason)('two shards drilled for real, merged with the CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-shards-'));
  const folder = join(dir, 'backups');
  let dep: Deployment;

  beforeAll(async () => {
    const { docker } = await ensureEngine();
    dep = await makeZ4jDeployment({ docker, version: Z4J_PINNED_VERSION, outDir: folder, name: 'base.db' });
    await capture('z4j', dep.archive, dep.secrets);
    variant(dep.archive, 'good-1.db');
    variant(dep.archive, 'good-2.db');
    variant(dep.archive, 'count-off.db', (m) => {
      m.expectations.counts.tasks = (m.expectations.counts.tasks as number) + 1;
    });
    mkdirSync(join(dir, 'elsewhere'));
    renameSync(dep.archive, join(dir, 'elsewhere', 'base.db'));
    renameSync(`${dep.archive}.manifest.json`, join(dir, 'elsewhere', 'base.db.manifest.json'));
    await keygenCommand({ out: join(dir, 'signer'), print: () => {} });
  });

  afterAll(async () => {
    const { rmSync } = await import('node:fs');
    rmSync(dir, { recursive: true, force: true });
  });

  it('verdicts equal a local run\'s; each drill names the node that ran it; exit code, history and signed evidence of the whole', async () => {
    const before = await leftovers();
    const localJson = join(dir, 'local.json');
    const localCode = await runCommand({ profile: 'z4j', archives: [folder], secrets: dep.secrets, jobs: 1, json: localJson, history: false, out: () => {}, say: () => {} });
    const local = RunReportSchema.parse(JSON.parse(readFileSync(localJson, 'utf8')));
    const verdicts = (r: typeof local) => Object.fromEntries(r.drills.map((d) => [d.archive.file, d.verdict]));
    expect(verdicts(local)).toEqual({ 'good-1.db': 'passed', 'good-2.db': 'passed', 'count-off.db': 'failed' });

    const reports = join(dir, 'reports');
    const key = join(dir, 'signer.key');
    for (const i of [1, 2]) {
      const worker = await cli(['run', '--profile', 'z4j', '--secrets', dep.secrets, '--jobs', '1', '--shard', `${i}/2`, '--report-to', reports, '--sign', key, '--reporter', 'console', folder], { RESTORE_DRILL_NODE: `node-${i}` });
      // count-off.db is dealt to shard 1 (c < g): that worker's own code says its shard failed.
      expect(worker.code, worker.err).toBe(i === 1 ? 1 : 0);
    }
    expect(readdirSync(reports).sort()).toEqual(['shard-1-of-2.dsse.json', 'shard-1-of-2.intoto.jsonl', 'shard-1-of-2.json', 'shard-2-of-2.dsse.json', 'shard-2-of-2.intoto.jsonl', 'shard-2-of-2.json']);

    const mergedJson = join(dir, 'merged.json');
    const history = join(dir, 'history.sqlite');
    const merged = await cli(['merge', reports, '--json', mergedJson, '--sign', key, '--history', history, '--reporter', 'console']);
    expect(merged.code, merged.err).toBe(localCode);
    expect(localCode).toBe(1);
    const run = RunReportSchema.parse(JSON.parse(readFileSync(mergedJson, 'utf8')));
    expect(verdicts(run)).toEqual(verdicts(local));
    expect(run.status).toBe(local.status);
    expect(Object.fromEntries(run.drills.map((d) => [d.archive.file, d.node]))).toEqual({ 'count-off.db': 'node-1', 'good-1.db': 'node-2', 'good-2.db': 'node-1' });
    expect(run.merged).toMatchObject({ count: 2, reported: [{ index: 1, node: 'node-1' }, { index: 2, node: 'node-2' }], lost: [] });

    // The merge's history holds every drill, with its verdict, linked to the merged report.
    const h = History.open(history);
    try {
      const rows = h.drills();
      expect(Object.fromEntries(rows.map((r) => [r.archiveFile, r.verdict]))).toEqual(verdicts(local));
      const links = h.reportPaths();
      expect(rows.every((r) => links.get(r.drillId) === mergedJson)).toBe(true);
    } finally {
      h.close();
    }
    // Signed evidence of the merged run and its per-archive attestations verify offline.
    const said: string[] = [];
    expect(await verifyCommand({ report: join(dir, 'merged.dsse.json'), pubkey: join(dir, 'signer.pub'), print: (l) => said.push(l) })).toBe(0);
    expect(await verifyCommand({ report: join(dir, 'merged.intoto.jsonl'), pubkey: join(dir, 'signer.pub'), print: (l) => said.push(l) })).toBe(0);
    expect(await leftovers()).toEqual(before);
  });
});
