import type Database from 'better-sqlite3';
import { compareChain } from '../../harness/verdict/compare.ts';
import type { ChainObservation, Finding } from '../../harness/model/types.ts';
import type { ChainExpectation } from '../../harness/manifest/schema.ts';
import { chainKey, readChainState } from './audit-chain.ts';
import { judgeChainState, observeChainState, type ChainStateObservation } from './chain-state.ts';
import { walkZ4jChainFast } from './sqlite-facts.ts';
import type { Z4jSessionCheckId } from './check-ids.ts';

/** What was read of a SQLite archive's audit chain with the secret: an observation, judged by judgeArchiveChain. */
export interface ArchiveChainReading {
  /** The chain's rows were signed with another key than the secret's (key ids only): the chain was not walked, it could only fail. */
  otherSigner?: { rowsKeyId: string; secretKeyId: string };
  chain?: ChainObservation;
  state?: ChainStateObservation;
}

/**
 * The audit chain of a SQLite archive (a private copy) with the secret: the
 * key id the rows were signed with beside the secret's, the whole chain
 * walked, and z4j's signed chain state read, all as observations. The drill's
 * contract holds them against the manifest's chain; capture against the
 * chain's own shape (judgeArchiveChain), with the same words.
 */
export async function readArchiveChain(db: Database.Database, file: string, secret: string): Promise<ArchiveChainReading> {
  const state = readChainState(db);
  const key = chainKey(secret);
  if (state) {
    const row = db.prepare('SELECT hmac_key_id FROM audit_log WHERE legacy_frozen = 0 AND chain_generation = ? LIMIT 1').get(state.generation) as { hmac_key_id: string } | undefined;
    if (row && row.hmac_key_id !== key.id) return { otherSigner: { rowsKeyId: row.hmac_key_id, secretKeyId: key.id } };
  }
  // The whole chain walked in the archive itself, so a problem is located
  // before z4j's restore gets a say (its authenticated restore may refuse).
  const chain = await walkZ4jChainFast(db, file, secret);
  return { ...(chain ? { chain } : {}), state: observeChainState(db, secret, chain) };
}

/**
 * What is wrong with the archive's audit chain, as the drill's inspect stage
 * says it (ids inspect.*), against the manifest's chain; capture (`exp`
 * undefined) against the chain's own shape, so that only damage is found: a
 * backup every drill would fail is refused while it can still be taken again.
 */
export function judgeArchiveChain(read: ArchiveChainReading, exp: ChainExpectation | undefined): Finding<Z4jSessionCheckId>[] {
  const other = read.otherSigner;
  if (other) {
    return [
      {
        id: 'inspect.secret-key',
        status: 'fail',
        reason: `the secret supplied is not the one that signed this audit chain: its key id is ${other.secretKeyId.slice(0, 12)}…, the chain's rows were signed with key id ${other.rowsKeyId.slice(0, 12)}… (the data is not corrupt; find the secret.env of the install that made this backup)`,
        expected: other.rowsKeyId,
        observed: other.secretKeyId,
      },
    ];
  }
  return chainDamage(read.chain, read.state ?? {}, exp);
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
