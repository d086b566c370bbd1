/**
 * Runs tasks with at most `jobs` at once, in order of the input; results keep
 * the input order. `shouldStart` is asked before each task starts, so a
 * deadline or an interrupt stops new work while running work finishes.
 */
export async function runPool<T, R>(items: T[], jobs: number, task: (item: T) => Promise<R>, skip: (item: T) => R | undefined): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      const item = items[i]!;
      const skipped = skip(item);
      results[i] = skipped !== undefined ? skipped : await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
  return results;
}
