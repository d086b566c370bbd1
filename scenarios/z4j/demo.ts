import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DemoOptions } from '../../harness/profile.ts';
import { setupCommand } from '../../harness/commands/setup.ts';
import { captureCommand } from '../../harness/commands/capture.ts';
import { runCommand } from '../../harness/commands/run.ts';
import { ensureEngine } from '../../harness/runtime/index.ts';
import { makeZ4jDeployment } from './fixtures/deployment.ts';
import { Z4J_PINNED_VERSION } from './version.ts';

/**
 * The main job end to end: host ready, a sample z4j deployment made and
 * backed up by z4j itself, its manifest captured, the backup drilled.
 */
export async function z4jDemo(opts: DemoOptions): Promise<number> {
  const say = opts.say;
  await setupCommand({ profile: 'z4j', version: [Z4J_PINNED_VERSION], say });
  const engine = await ensureEngine();
  rmSync(opts.outDir, { recursive: true, force: true });
  mkdirSync(opts.outDir, { recursive: true });
  const dep = await makeZ4jDeployment({ docker: engine.docker, version: Z4J_PINNED_VERSION, outDir: opts.outDir, name: 'z4j-demo-backup.db', say });
  say(`backup: ${dep.archive} (secrets: ${dep.secrets})`);
  await captureCommand({ profile: 'z4j', archive: dep.archive, secrets: dep.secrets, say });
  const json = join(opts.outDir, 'drill-report.json');
  const code = await runCommand({
    profile: 'z4j',
    archives: [dep.archive],
    secrets: dep.secrets,
    json,
    out: (l) => process.stdout.write(`${l}\n`),
    say,
  });
  say(`verdict written to ${json}`);
  return code;
}
