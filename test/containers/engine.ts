import { type Engine } from '../../harness/runtime/index.ts';
import { ensureEngine } from '../../harness/runtime/engine.ts';

/**
 * Container tests never skip silently. They run unless RESTORE_DRILL_SKIP_CONTAINER_TESTS
 * gives a reason, which is printed; with no engine and no such reason they fail.
 */
export const skipReason: string | undefined = process.env.RESTORE_DRILL_SKIP_CONTAINER_TESTS || undefined;

export async function engine(): Promise<Engine> {
  return ensureEngine({ install: false });
}
