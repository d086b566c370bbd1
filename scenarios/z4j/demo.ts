import type { DemoBackup, DemoOptions } from '../../harness/profile.ts';
import { makeZ4jDeployment } from './sample/deployment.ts';
import { Z4J_PINNED_VERSION } from './version.ts';

/** The demo's sample: a z4j deployment seeded through z4j's own services and backed up by `z4j backup`. */
export async function z4jDemo(opts: DemoOptions): Promise<DemoBackup> {
  const dep = await makeZ4jDeployment({ runtime: opts.runtime, version: Z4J_PINNED_VERSION, outDir: opts.outDir, name: 'z4j-demo-backup.db', say: opts.say });
  return { archive: dep.archive, secrets: dep.secrets, version: Z4J_PINNED_VERSION };
}
