import { basename } from 'node:path';
import type { DrillContext } from '../../harness/profile.ts';
import type { Z4jSessionCheckId } from './check-ids.ts';
import type { DrillContainer } from '../../harness/runtime/index.ts';
import type { Run } from './app-checks.ts';
import { quote } from './parse.ts';
import { readZ4jSecretEnv } from './secret-env.ts';
import { DRILL_DIR, Z4J_HOME } from './tables.ts';

/** Where the archive sits in the app container: outside the data dir. */
export function archiveInContainer(ctx: DrillContext<Z4jSessionCheckId>): string {
  return `${DRILL_DIR}/${basename(ctx.archive)}`;
}

/**
 * A fresh z4j install to restore over, the same for both backends: secret.env
 * as a 0600 file that dies with the container (never an argument or an env
 * var), the archive beside the data dir, and `z4j migrate upgrade head`, because
 * z4j's authenticated restore only restores over a target at its migration head.
 */
export async function prepareFreshInstall(ctx: DrillContext<Z4jSessionCheckId>, app: DrillContainer, run: Run, target: string): Promise<void> {
  // Judged before anything started (compare.secrets-file); said again here, where z4j reads the file.
  const read = readZ4jSecretEnv(ctx.secrets!.raw);
  ctx.check(
    read.ok
      ? { id: 'provision.secret-env', status: 'pass', reason: `z4j reads secret.env: ${[...read.values.keys()].sort().join(', ')}` }
      : { id: 'provision.secret-env', status: 'fail', reason: `z4j refuses secret.env: ${read.problem}` },
  );
  // One copy: the engine makes the archive's folder.
  await app.putFiles([
    { target: `${Z4J_HOME}/secret.env`, content: ctx.secrets!.raw, mode: 0o600 },
    { target: archiveInContainer(ctx), source: ctx.archive, mode: 0o600 },
  ]);
  const migrate = await run(['z4j', 'migrate', 'upgrade', 'head']);
  ctx.check(
    migrate.exitCode === 0
      ? { id: 'provision.fresh-install', status: 'pass', reason: `fresh z4j ${target} created at this version's migration head (z4j migrate upgrade head)` }
      : { id: 'provision.fresh-install', status: 'error', reason: `could not create a fresh z4j ${target} to restore over: ${quote(migrate.stdout, migrate.stderr)}` },
  );
}

/**
 * The gate's upgrade, the same for both backends: secret.env into the target
 * version's empty home, then that version's own `z4j migrate upgrade head`.
 */
export async function migrateWithTarget(ctx: DrillContext<Z4jSessionCheckId>, app: DrillContainer, run: Run, version: string, target: string): Promise<void> {
  await app.writeFile(`${Z4J_HOME}/secret.env`, ctx.secrets!.raw, 0o600);
  const r = await run(['z4j', 'migrate', 'upgrade', 'head']);
  ctx.check(
    r.exitCode === 0
      ? { id: 'upgrade.migrate', status: 'pass', reason: `z4j ${version} migrated the restored ${target} (z4j migrate upgrade head)` }
      : { id: 'upgrade.migrate', status: 'fail', reason: `z4j ${version} cannot migrate the restored ${target} (exit ${r.exitCode}): ${quote(r.stdout, r.stderr, 3)}` },
  );
}
