import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mergeShardReports, type ShardReport } from '../../harness/fleet/merge.ts';
import { folderStore, reportStore } from '../../harness/fleet/report-to.ts';
import { shardOf } from '../../harness/fleet/shard.ts';
import { runCommand } from '../../harness/commands/run.ts';
import { mergeCommand } from '../../harness/commands/merge.ts';
import { prepareRunEnd, withRunEnd } from '../../harness/commands/run-end.ts';
import { main } from '../../harness/cli.ts';
import type { DrillReport, Verdict } from '../../harness/model/types.ts';
import { RunReportSchema } from '../../harness/report/schema.ts';
import { History } from '../../harness/history/store.ts';
import { UsageError } from '../../harness/errors.ts';

const SELECTION = ['/b/1.db', '/b/2.db', '/b/3.db', '/b/4.db', '/b/5.db'];

function drill(path: string, verdict: Verdict, node = 'n'): DrillReport {
  return {
    drillId: `d-${path.replace(/\W/g, '')}-${Math.random().toString(36).slice(2, 8)}`,
    profile: 'z4j',
    archive: { path, file: path.split('/').pop()! },
    verdict,
    summary: verdict,
    stages: [],
    checks: [],
    node,
    startedAt: '2026-12-06T01:00:00.000Z',
    finishedAt: '2026-12-06T01:00:05.000Z',
    durationMs: 5000,
  };
}

/** The report shard `index` of `count` would write, every archive dealt to it given `verdicts[path]` (default passed). */
function shardReport(index: number, count: number, opts: { runId?: string; selection?: string[]; verdicts?: Record<string, Verdict>; extra?: string[]; version?: string } = {}): ShardReport {
  const selection = opts.selection ?? SELECTION;
  const mine = shardOf(selection.map((location) => ({ location })), index, count).map((i) => i.location);
  const drills = [...mine, ...(opts.extra ?? [])].map((p) => drill(p, opts.verdicts?.[p] ?? 'passed', `node-${index}`));
  const status = drills.some((d) => d.verdict === 'failed') ? 'failed' : drills.some((d) => d.verdict === 'error') ? 'error' : 'passed';
  return {
    tool: { name: 'restore-drill', version: opts.version ?? '0.1.0' },
    status,
    startedAt: `2026-12-06T01:0${index}:00.000Z`,
    finishedAt: `2026-12-06T01:1${index}:00.000Z`,
    drills,
    shard: { runId: opts.runId ?? 'run-1', index, count, selection, node: `node-${index}` },
  };
}

const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    expect((e as UsageError).code).toBe('RD_MERGE_MISMATCH');
    return (e as Error).message;
  }
  throw new Error('not refused');
};

describe('mergeShardReports', () => {
  it('every archive of the selection once, in deal order, with the node that drilled it; the status of the whole', () => {
    const run = mergeShardReports([shardReport(2, 2, { verdicts: { '/b/4.db': 'failed' } }), shardReport(1, 2)], { runId: 'run-1', count: 2 });
    expect(run.drills.map((d) => d.archive.path)).toEqual(SELECTION);
    expect(run.drills.map((d) => d.node)).toEqual(['node-1', 'node-2', 'node-1', 'node-2', 'node-1']);
    expect(run.status).toBe('failed');
    expect(run.merged).toEqual({ runId: 'run-1', count: 2, reported: [{ index: 1, node: 'node-1' }, { index: 2, node: 'node-2' }], lost: [] });
    expect([run.startedAt, run.finishedAt]).toEqual(['2026-12-06T01:01:00.000Z', '2026-12-06T01:12:00.000Z']);
    expect(RunReportSchema.safeParse(run).success).toBe(true);
  });

  it('an archive whose shard never reported is an error drill naming the shard (and why, when the submitter knows), never missing', () => {
    const run = mergeShardReports([shardReport(1, 3), shardReport(3, 3)], { runId: 'run-1', count: 3, lost: new Map([[2, 'the task failed on node w2']]) });
    expect(run.drills.map((d) => d.archive.path)).toEqual(SELECTION);
    const lost = run.drills.filter((d) => d.verdict === 'error');
    expect(lost.map((d) => d.archive.path)).toEqual(['/b/2.db', '/b/5.db']);
    expect(lost[0]).toMatchObject({ profile: 'z4j', archive: { file: '2.db' }, summary: 'plan: shard 2/3 never reported: the task failed on node w2', checks: [{ id: 'plan.shard-lost', status: 'error' }] });
    expect(lost[0]!.node).toBeUndefined();
    expect(run.status).toBe('error');
    expect(run.merged!.lost).toEqual([{ index: 2, reason: 'the task failed on node w2' }]);
    // The submitter's selection serves when no shard reported at all.
    const none = mergeShardReports([], { runId: 'run-1', count: 2, selection: SELECTION, profile: 'z4j' });
    expect(none.drills.every((d) => d.verdict === 'error' && /^plan: shard [12]\/2 never reported$/.test(d.summary))).toBe(true);
  });

  it('a shard that reported counts, even when the submitter thought it lost; an interrupted shard makes the whole at least error', () => {
    const run = mergeShardReports([shardReport(1, 1)], { runId: 'run-1', count: 1, lost: new Map([[1, 'task failed']]) });
    expect(run.status).toBe('passed');
    const cut = shardReport(1, 2);
    cut.status = 'interrupted';
    expect(mergeShardReports([cut, shardReport(2, 2)], { runId: 'run-1', count: 2 }).status).toBe('error');
  });

  it('refuses reports of different runs, N, selections or versions, a shard twice, an archive twice or from the wrong shard', () => {
    expect(refusal(() => mergeShardReports([shardReport(1, 2), shardReport(2, 2, { runId: 'run-2' })], { runId: 'run-1', count: 2 }))).toMatch(/shard 2\/2 is of run run-2, not run-1/);
    expect(refusal(() => mergeShardReports([shardReport(1, 2), shardReport(2, 3)], { runId: 'run-1', count: 2 }))).toMatch(/splits the run into 3 shards, not 2/);
    expect(refusal(() => mergeShardReports([shardReport(1, 2), shardReport(1, 2)], { runId: 'run-1', count: 2 }))).toMatch(/shard 1\/2 reported twice/);
    expect(refusal(() => mergeShardReports([shardReport(1, 2), shardReport(2, 2, { extra: ['/b/1.db'] })], { runId: 'run-1', count: 2 }))).toMatch(/\/b\/1\.db is reported twice \(shard 1\/2, shard 2\/2\)/);
    expect(refusal(() => mergeShardReports([shardReport(1, 2), shardReport(2, 2, { selection: [...SELECTION, '/b/6.db'] })], { runId: 'run-1', count: 2 }))).toMatch(/different selection/);
    expect(refusal(() => mergeShardReports([shardReport(1, 2, { extra: ['/b/9.db'] })], { runId: 'run-1', count: 2 }))).toMatch(/\/b\/9\.db is not in this run's selection/);
    expect(refusal(() => mergeShardReports([shardReport(1, 2), shardReport(2, 2, { version: '0.2.0' })], { runId: 'run-1', count: 2 }))).toMatch(/different restore-drill versions/);
    // Archive 2 belongs to shard 2; shard 1 claiming it (and not reporting its own 3) is another run's split.
    const wrong = shardReport(1, 2);
    wrong.drills = wrong.drills.map((d) => (d.archive.path === '/b/3.db' ? drill('/b/2.db', 'passed') : d));
    expect(refusal(() => mergeShardReports([wrong], { runId: 'run-1', count: 2 }))).toMatch(/\/b\/2\.db is reported by shard 1\/2, which it is not dealt to/);
    expect(refusal(() => mergeShardReports([shardReport(1, 2)], { runId: 'run-1', count: 2, selection: ['/b/1.db'] }))).toMatch(/(different selection|not in this run's selection)/);
  });
});

describe('merge on the command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-merge-test-'));
  const put = (folder: string, ...reports: ShardReport[]) => {
    mkdirSync(join(dir, folder), { recursive: true });
    for (const r of reports) writeFileSync(join(dir, folder, `shard-${r.shard.index}-of-${r.shard.count}.json`), JSON.stringify(r));
    return join(dir, folder);
  };
  const merge = (...args: string[]) => main(['node', 'restore-drill', 'merge', '--reporter', 'console', '--no-history', ...args]);

  it('exit codes of the whole: 0 all passed, 1 a drill failed, 3 a shard never reported, 2 reports of different runs (nothing written)', async () => {
    const json = join(dir, 'merged.json');
    expect(await merge('--json', json, put('ok', shardReport(1, 2), shardReport(2, 2)))).toBe(0);
    expect(RunReportSchema.parse(JSON.parse(readFileSync(json, 'utf8'))).drills).toHaveLength(5);
    expect(await merge(put('failed', shardReport(1, 2), shardReport(2, 2, { verdicts: { '/b/2.db': 'failed' } })))).toBe(1);
    expect(await merge(put('lost', shardReport(1, 3), shardReport(2, 3)))).toBe(3);
    const mixed = join(dir, 'mixed.json');
    expect(await merge('--json', mixed, put('mixed', shardReport(1, 2), shardReport(2, 2, { runId: 'run-2' })))).toBe(2);
    expect(existsSync(mixed)).toBe(false);
    // Files named one by one, and a file that is a whole run's report rather than a shard's.
    expect(await merge(join(dir, 'ok', 'shard-1-of-2.json'), join(dir, 'ok', 'shard-2-of-2.json'))).toBe(0);
    expect(await merge(join(dir, 'ok', 'shard-1-of-2.json'), join(dir, 'ok', 'shard-1-of-2.json'))).toBe(2);
    writeFileSync(join(dir, 'whole.json'), JSON.stringify({ ...shardReport(1, 1), shard: undefined }));
    expect(await merge(join(dir, 'whole.json'))).toBe(2);
    // Nothing reported at all: the run's archives are not even known, an error (3), not a usage slip.
    mkdirSync(join(dir, 'empty'));
    expect(await merge(join(dir, 'empty'))).toBe(3);
    expect(await merge('--run-id', 'run-9', put('ok'))).toBe(2);
  });

  it('records every merged drill in the history, as a local run does, and links them to the merged report', async () => {
    const history = join(dir, 'merge-history.sqlite');
    const json = join(dir, 'merged-h.json');
    const code = await mergeCommand({ inputs: [put('hist', shardReport(1, 2), shardReport(2, 2, { verdicts: { '/b/4.db': 'failed' } }))], json, history, reporters: ['console'], out: () => {}, say: () => {} });
    expect(code).toBe(1);
    const h = History.open(history);
    try {
      const rows = h.drills();
      expect(rows.map((r) => r.archivePath).sort()).toEqual(SELECTION);
      expect(rows.find((r) => r.archivePath === '/b/4.db')!.verdict).toBe('failed');
      const links = h.reportPaths();
      expect(rows.map((r) => links.get(r.drillId))).toEqual(rows.map(() => json));
    } finally {
      h.close();
    }
  });
});

describe('the worker: run --shard with --report-to a folder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-shard-worker-'));
  const backups = join(dir, 'backups');
  mkdirSync(backups);
  // Archives without a manifest: each is an `error` report of the shard it is dealt to, and no engine is needed.
  for (const n of ['a', 'b', 'c', 'd', 'e']) writeFileSync(join(backups, `${n}.db`), n);
  const quiet = { out: () => {}, say: () => {} };

  it('two workers write shard-1-of-2.json and shard-2-of-2.json that partition the selection; merge gives every archive once, with its node', async () => {
    const to = join(dir, 'reports', 'run-a');
    const state = join(dir, 'state');
    const { RESTORE_DRILL_HISTORY: _named, ...withoutHistoryVar } = process.env;
    for (const i of [1, 2]) {
      const code = await runCommand({ profile: 'z4j', archives: [backups], shard: { index: i, count: 2 }, reportTo: to, reporters: ['console'], env: { ...withoutHistoryVar, RESTORE_DRILL_NODE: `worker-${i}`, RESTORE_DRILL_STATE_DIR: state }, ...quiet });
      expect(code).toBe(3);
    }
    expect(readdirSync(to).sort()).toEqual(['shard-1-of-2.json', 'shard-2-of-2.json']);
    // A shard records no history of its own unless one is named: the run's history is the merge's.
    expect(existsSync(state)).toBe(false);
    const [one, two] = [1, 2].map((i) => RunReportSchema.parse(JSON.parse(readFileSync(join(to, `shard-${i}-of-2.json`), 'utf8'))));
    const all = ['a', 'b', 'c', 'd', 'e'].map((n) => join(backups, `${n}.db`));
    expect(one!.shard).toMatchObject({ index: 1, count: 2, selection: all, node: 'worker-1' });
    expect(two!.shard!.runId).toBe(one!.shard!.runId);
    expect(one!.drills.map((d) => d.archive.path)).toEqual([all[0], all[2], all[4]]);
    expect(two!.drills.map((d) => [d.archive.path, d.node])).toEqual([[all[1], 'worker-2'], [all[3], 'worker-2']]);
    const json = join(dir, 'merged.json');
    expect(await mergeCommand({ inputs: [to], json, history: false, reporters: ['console'], ...quiet })).toBe(3);
    const merged = RunReportSchema.parse(JSON.parse(readFileSync(json, 'utf8')));
    expect(merged.drills.map((d) => d.archive.path)).toEqual(all);
    expect(merged.drills.every((d) => d.summary.startsWith('plan: unproven'))).toBe(true);
  });

  it('a shard with no archive dealt to it still reports (merge knows it ran); --run-id names the run', async () => {
    const to = join(dir, 'reports', 'run-b');
    expect(await runCommand({ profile: 'z4j', archives: [join(backups, 'a.*')], shard: { index: 2, count: 2 }, runId: 'ci-77', reportTo: to, reporters: ['console'], ...quiet })).toBe(0);
    const report = RunReportSchema.parse(JSON.parse(readFileSync(join(to, 'shard-2-of-2.json'), 'utf8')));
    expect([report.status, report.drills, report.shard!.runId]).toEqual(['passed', [], 'ci-77']);
  });

  it('refuses what would not split one selection the same on every worker, and report options without a shard', async () => {
    const run = (o: Partial<Parameters<typeof runCommand>[0]>) => runCommand({ profile: 'z4j', archives: [backups], reporters: ['console'], ...quiet, ...o });
    await expect(run({ shard: { index: 1, count: 2 }, selection: { oldestUndrilled: 2 } })).rejects.toThrow(/--oldest-undrilled reads this machine's drill history/);
    await expect(run({ shard: { index: 1, count: 2 }, selection: { sample: 2 } })).rejects.toThrow(/--sample with --shard needs --seed/);
    await expect(run({ shard: { index: 1, count: 2 }, notify: 'http://127.0.0.1:9/x' })).rejects.toThrow(/--notify goes with merge/);
    await expect(run({ reportTo: join(dir, 'r') })).rejects.toThrow(/--report-to writes a shard's report/);
    await expect(run({ runId: 'x' })).rejects.toThrow(/--run-id names the run a shard belongs to/);
    await expect(run({ shard: { index: 1, count: 2 }, reportTo: 'restic:/srv/repo#latest:/' })).rejects.toThrow(/restic and rclone locations are read-only here/);
    await expect(run({ shard: { index: 1, count: 2 }, reportTo: 'rclone:remote:reports' })).rejects.toThrow(/read-only here/);
    await expect(run({ shard: { index: 1, count: 2 }, reportTo: 's3://bucket/not-a-prefix' })).rejects.toThrow(/a prefix, ending in \//);
    await expect(run({ shard: { index: 1, count: 2 }, reportTo: 'https://example.invalid/x/' })).rejects.toThrow(/not a location reports can be written to/);
  });

  it('a report folder that cannot be written is refused before anything starts (exit 2), not found out at the end', async () => {
    const ro = join(dir, 'read-only');
    mkdirSync(ro);
    chmodSync(ro, 0o500);
    const probe = join(ro, 'probe');
    let writable = true;
    try {
      writeFileSync(probe, '');
    } catch {
      writable = false;
    }
    // As root every folder takes files: a file where the folder should be serves as the unwritable place then.
    const target = writable ? join(dir, 'a-file') : ro;
    if (writable) writeFileSync(target, 'not a folder');
    const code = await main(['node', 'restore-drill', 'run', '--profile', 'z4j', '--no-history', '--shard', '1/2', '--report-to', target, backups]);
    expect(code).toBe(2);
  });
});

describe('the end of a run', () => {
  it('a report that cannot be written where --report-to names makes a passing run exit 3, and the others are still written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rd-run-end-'));
    const json = join(dir, 'local.json');
    const broken = { ...folderStore(join(dir, 'to')), put: async () => Promise.reject(new Error('the store went away')) };
    const said: string[] = [];
    const prepared = await prepareRunEnd({ json, reporters: ['console'], history: false, notify: false, reportTo: { store: broken, name: 'shard-1-of-1.json' }, out: () => {}, say: (l) => said.push(l) });
    const run = { tool: { name: 'restore-drill' as const, version: '0.1.0' }, status: 'passed' as const, startedAt: 'x', finishedAt: 'y', drills: [] };
    expect(await withRunEnd(prepared, () => 'x', (end) => end.finish(run))).toBe(3);
    expect(said.some((l) => /error: the shard report could not be written to .*shard-1-of-1\.json: the store went away/.test(l))).toBe(true);
    expect(existsSync(json)).toBe(true);
    expect(() => reportStore('s3://bucket/prefix/')).not.toThrow();
  });
});
