import type { Finding } from '../../harness/model/types.ts';
import type { Manifest } from '../../harness/manifest/schema.ts';
import { secretsHint } from './secrets-hint.ts';
import type { Z4jCheckId } from './check-ids.ts';

/** What the harness read in the restored database beside its facts, for the contract (part of Z4jObservations). */
export interface RestoredReading {
  /** PRAGMA integrity_check's and foreign_key_check's problems in the restored database, where the backend checks them (SQLite). */
  integrityProblems?: string[];
  foreignKeyProblems?: string[];
  /** Why the restored chain was not walked: no secret supplied, or no audit_chain_state in the restored database. */
  chainUnwalked?: 'no-secret' | 'no-state';
  /** The key id the restored chain's rows were signed with, beside the secret's (key ids only), where the backend reads it. */
  chainSigner?: { rowsKeyId: string; secretKeyId: string };
}

/**
 * The contract's judgement of what the harness read in the restored database
 * beside its facts (the probe's observations, judged at probe by judgeRestored):
 * its integrity and references, whether its chain could be walked, and who signed its rows.
 */
export function judgeRestoredReading(manifest: Manifest, said: RestoredReading): Finding[] {
  const out: Finding[] = [];
  const integrity = said.integrityProblems;
  if (integrity) out.push(pragma('probe.integrity', integrity, 'restored database: PRAGMA integrity_check ok', 'restored database fails PRAGMA integrity_check'));
  const fk = said.foreignKeyProblems;
  if (fk) out.push(pragma('probe.foreign-keys', fk, 'restored database: PRAGMA foreign_key_check clean', 'restored database has broken references'));
  if (said.chainUnwalked === 'no-secret') out.push({ id: 'probe.chain', status: 'fail', reason: `secret material missing: the audit chain cannot be verified; ${secretsHint(manifest.archive.format)}` });
  else if (said.chainUnwalked === 'no-state') out.push({ id: 'probe.chain', status: 'fail', reason: 'the restored database has no audit_chain_state: the audit chain cannot be walked' });
  const signer = said.chainSigner;
  if (signer && signer.rowsKeyId !== signer.secretKeyId) {
    out.push({
      id: 'probe.secret-key',
      status: 'fail',
      reason: `the secret supplied is not the one that signed this audit chain: its key id is ${signer.secretKeyId.slice(0, 12)}…, the chain's rows were signed with key id ${signer.rowsKeyId.slice(0, 12)}… (the data is not corrupt; find the secret.env of the install that made this backup)`,
      expected: signer.rowsKeyId,
      observed: signer.secretKeyId,
    });
  }
  return out;
}

/** A PRAGMA check of the restored database: a pass, or a failure quoting its first problems. */
function pragma(id: Z4jCheckId, problems: string[], ok: string, bad: string): Finding {
  return problems.length === 0 ? { id, status: 'pass', reason: ok } : { id, status: 'fail', reason: `${bad}: ${problems.slice(0, 3).join('; ')}`, observed: problems };
}
