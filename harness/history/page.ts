import type { History } from './store.ts';
import { families } from './families.ts';
import { renderRecoverabilityPage } from '../report/recoverability.ts';
import { writeFileAtomic } from '../report/write.ts';
import { TOOL_VERSION } from '../version.ts';

/** `history --html PAGE`: the recoverability page, from the history as it is now. */
export async function writeRecoverabilityPage(
  history: History,
  target: string,
  opts: { profile?: string; since: string; maxAge: string; now: Date; sinceMs: number; maxAgeMs: number },
): Promise<void> {
  const fams = families(history, { ...(opts.profile ? { profile: opts.profile } : {}), since: new Date(opts.now.getTime() - opts.sinceMs), maxAgeMs: opts.maxAgeMs, now: opts.now });
  const page = renderRecoverabilityPage({ generatedAt: opts.now.toISOString(), since: opts.since, maxAge: opts.maxAge, toolVersion: TOOL_VERSION, families: fams }, target);
  await writeFileAtomic(target, page);
}
