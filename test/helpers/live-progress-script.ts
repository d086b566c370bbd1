// Drives the console reporter as `run` does, fed by the drill's progress
// watcher, for the pseudo-terminal test (test/unit/live-progress.test.ts):
// whether stderr is a terminal decides what is drawn.
import { consoleReporter } from '../../harness/report/console.ts';
import { progressWatcher } from '../../harness/drill/progress.ts';
import type { DrillReport } from '../../harness/model/types.ts';

const archive = '/backups/nightly.db';
const reporter = consoleReporter({ env: process.env, out: (l) => process.stdout.write(`${l}\n`), err: process.stderr });
const watch = progressWatcher({
  parse: (line) => (/^restored \d+ rows/.test(line) ? line : undefined),
  secrets: ['s3cr3t-value-123'],
  emit: (text) => reporter.onProgress?.(archive, text),
});
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

reporter.onRunStart?.([archive]);
reporter.onDrillStart?.(archive);
reporter.onStage?.(archive, 'provision');
watch({ kind: 'bytes', direction: 'in', done: 3 * 2 ** 20, total: 12 * 2 ** 20 });
await wait(400);
reporter.onStage?.(archive, 'restore');
watch({ kind: 'exec', command: ['/usr/local/bin/app', 'restore', '/drill/archive.db', '--force'] });
watch({ kind: 'output', text: 'starting\nrestored 1200 ro' });
watch({ kind: 'output', text: 'ws so far\rrestored 2400 rows so far (key s3cr3t-value-123)\n' });
await wait(400);
const report: DrillReport = {
  drillId: 'd1', profile: 'demo', archive: { path: archive, file: 'nightly.db' }, verdict: 'passed', summary: 'all checks passed',
  stages: [{ name: 'restore', status: 'passed', durationMs: 800 }], checks: [], startedAt: new Date().toISOString(), finishedAt: new Date().toISOString(), durationMs: 800,
};
reporter.onDrillEnd?.(report);
