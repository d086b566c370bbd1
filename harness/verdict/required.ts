import type { CheckResult } from '../model/types.ts';

/**
 * Required checks that did not end `pass`: never ran, or ran with no
 * conclusion. (A failed one already fails the drill.) Ids ending in `*` match
 * any check id with that prefix, for checks a profile makes per table or tenant.
 */
export function requiredCheckProblems(checks: CheckResult[], required: readonly string[]): string[] {
  const missing: string[] = [];
  for (const id of required) {
    const match = id.endsWith('*') ? (c: CheckResult) => c.id.startsWith(id.slice(0, -1)) : (c: CheckResult) => c.id === id;
    if (!checks.some((c) => match(c) && c.status === 'pass')) missing.push(id);
  }
  return missing;
}
