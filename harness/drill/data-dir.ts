import { HARNESS_OPERATIONAL_CHECK, type DrillContext, type HarnessOperationalCheckId } from '../profile.ts';
import type { DrillContainer } from '../runtime/index.ts';

/**
 * The pipeline's promise that a restore lands in an empty data directory: lists
 * `dir` in the container and records a check (provision.data-dir unless told). Returns false (the
 * provision must stop) when it is not empty or cannot be listed.
 */
export async function requireEmptyDataDir(ctx: DrillContext, container: DrillContainer, dir: string, id: HarnessOperationalCheckId = HARNESS_OPERATIONAL_CHECK.dataDir): Promise<boolean> {
  const listing = await container.exec(['ls', '-A', dir], { timeoutMs: ctx.execTimeoutMs });
  if (listing.exitCode !== 0) {
    const said = `${listing.stderr}\n${listing.stdout}`.trim().split('\n').slice(-2).join(' | ') || '(no output)';
    ctx.check({ id, status: 'error', reason: `cannot list the data dir ${dir}: ${said}` });
    return false;
  }
  const entries = listing.stdout.split('\n').filter(Boolean);
  if (entries.length > 0) {
    ctx.check({ id, status: 'fail', reason: `data dir not empty: ${dir} holds ${entries.join(', ')} before the restore; refusing to restore over it`, observed: entries });
    return false;
  }
  ctx.check({ id, status: 'pass', reason: `data dir ${dir} is empty` });
  return true;
}
