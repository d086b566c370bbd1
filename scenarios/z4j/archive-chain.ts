import type Database from 'better-sqlite3';
import { compareChain } from '../../harness/verdict/compare.ts';
import type { ChainObservation, Finding } from '../../harness/model/types.ts';
import type { ChainExpectation } from '../../harness/manifest/schema.ts';
import { chainKey, readChainState } from './audit-chain.ts';
import { judgeChainState, observeChainState, type ChainStateObservation } from './chain-state.ts';
import { walkZ4jChainFast } from './sqlite-facts.ts';
import type { Z4jSessionCheckId } from './check-ids.ts';

export interface ArchiveChain {
  /** What is wrong with the archive's audit chain, as the drill's inspect stage says it (ids inspect.*). */
  findings: Finding<Z4jSessionCheckId>[];
  chain?: ChainObservation;
  state?: ChainStateObservation;
}

/**
 * The audit chain of a SQLite archive (a private copy) with the secret: the
 * secret's key id against the one the rows were signed with, the whole chain
 * walked, and the walk against z4j's signed chain state. The drill's inspect
 * holds it against the manifest's chain; capture (`exp` undefined) against
 * the chain's own shape, so that only damage is found: a backup every drill
 * would fail is refused while it can still be taken again, with the same words.
 */
export async function readArchiveChain(db: Database.Database, file: string, secret: string, exp: ChainExpectation | undefined): Promise<ArchiveChain> {
  const findings: Finding<Z4jSessionCheckId>[] = [];
  const state = readChainState(db);
  const key = chainKey(secret);
  if (state) {
    const row = db.prepare('SELECT hmac_key_id FROM audit_log WHERE legacy_frozen = 0 AND chain_generation = ? LIMIT 1').get(state.generation) as { hmac_key_id: string } | undefined;
    if (row && row.hmac_key_id !== key.id) {
      findings.push({
        id: 'inspect.secret-key',
        status: 'fail',
        reason: `the secret supplied is not the one that signed this audit chain: its key id is ${key.id.slice(0, 12)}…, the chain's rows were signed with key id ${row.hmac_key_id.slice(0, 12)}… (the data is not corrupt; find the secret.env of the install that made this backup)`,
        expected: row.hmac_key_id,
        observed: key.id,
      });
      return { findings };
    }
  }
  // The whole chain walked in the archive itself, so a problem is located
  // before z4j's restore gets a say (its authenticated restore may refuse).
  const chain = await walkZ4jChainFast(db, file, secret);
  const observed = observeChainState(db, secret, chain);
  findings.push(...chainDamage(chain, observed, exp));
  return { findings, ...(chain ? { chain } : {}), state: observed };
}

/**
 * The walk against the expected chain (by default the chain's own shape, so
 * only damage is found: a row that does not verify, a broken link, the wrong
 * secret) and against z4j's signed chain state, as inspect findings.
 */
export function chainDamage(chain: ChainObservation | undefined, state: ChainStateObservation, exp?: ChainExpectation): Finding<Z4jSessionCheckId>[] {
  const out: Finding<Z4jSessionCheckId>[] = [];
  const against = exp ?? (chain ? { table: 'audit_log', length: chain.length, headHmac: chain.headHmac, startsAtGenesis: chain.firstPrevHmac === null, ...(chain.firstPrevHmac !== null ? { firstPrevHmac: chain.firstPrevHmac } : {}) } : undefined);
  if (chain && against) {
    for (const f of compareChain(against, chain)) {
      if (f.status !== 'pass') out.push({ ...f, id: atInspect(f.id), reason: `archive: ${f.reason}` });
    }
  }
  // After the walk's own, more specific findings: z4j's restore may refuse
  // such an archive, and the compare stage would never run.
  for (const f of judgeChainState('archive', state)) if (f.status !== 'pass') out.push({ ...f, id: 'inspect.chain-state' });
  return out;
}

/** compareChain's ids (compare.chain, compare.chain.*) as the inspect stage records them (inspect.chain, inspect.chain.*). */
function atInspect(id: string): `inspect.chain${string}` {
  return `inspect.chain${id.replace(/^compare\.chain/, '')}`;
}
