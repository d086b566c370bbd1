/**
 * Runs tasks with at most `jobs` at once, in order of the input; results keep
 * the input order. `skip` is asked before each task starts, so a deadline or
 * an interrupt stops new work while running work finishes. A task that throws
 * does not end the pool (the others would run on detached, unreported):
 * `crashed` turns it into a result of its own.
 */
export async function runPool<T, R>(items: T[], jobs: number, task: (item: T) => Promise<R>, skip: (item: T) => R | undefined, crashed: (item: T, error: unknown) => R): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      const item = items[i]!;
      const skipped = skip(item);
      if (skipped !== undefined) {
        results[i] = skipped;
        continue;
      }
      try {
        results[i] = await task(item);
      } catch (e) {
        results[i] = crashed(item, e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
  return results;
}
