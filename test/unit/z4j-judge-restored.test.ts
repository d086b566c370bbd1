import { describe, expect, it } from 'vitest';
import type { Manifest } from '../../harness/manifest/schema.ts';
import type { Z4jObservations } from '../../scenarios/z4j/app-checks.ts';
import { z4jContract } from '../../scenarios/z4j/contract.ts';
import { PG_ARCHIVE_FORMAT } from '../../scenarios/z4j/pg/capture.ts';

/**
 * What the harness read of the restored database beside its facts is an
 * observation (Z4jObservations); the contract judges it at probe
 * (judgeRestored), with the ids and reasons the sessions used to record.
 */
const manifest = (format: string) => ({ archive: { format } }) as unknown as Manifest;
const judged = (seen: Partial<Z4jObservations>, format = 'sqlite') => z4jContract.judgeRestored!(manifest(format), { profile: { version: '1.13.0', ...seen } }, 'restore');
const KEY = 'a'.repeat(64);

describe("the restored database's reading, judged by the z4j contract", () => {
  it('a clean integrity_check passes; a damaged database fails, quoted, before its references', () => {
    expect(judged({ integrityProblems: [] })).toEqual([{ id: 'probe.integrity', status: 'pass', reason: 'restored database: PRAGMA integrity_check ok' }]);
    expect(judged({ integrityProblems: ['page 7: btree damaged'], foreignKeyProblems: [] }).map((f) => `${f.id} ${f.status}`)).toEqual(['probe.integrity fail', 'probe.foreign-keys pass']);
    expect(judged({ integrityProblems: ['page 7: btree damaged'] })[0]?.reason).toBe('restored database fails PRAGMA integrity_check: page 7: btree damaged');
  });

  it('a clean foreign_key_check passes; broken references fail, quoted', () => {
    expect(judged({ foreignKeyProblems: [] })).toEqual([{ id: 'probe.foreign-keys', status: 'pass', reason: 'restored database: PRAGMA foreign_key_check clean' }]);
    expect(judged({ foreignKeyProblems: ['tasks row 3: projects'] })).toEqual([
      { id: 'probe.foreign-keys', status: 'fail', reason: 'restored database has broken references: tasks row 3: projects', observed: ['tasks row 3: projects'] },
    ]);
  });

  it('a chain that was not walked fails probe.chain, saying why, in the words for that backend', () => {
    expect(judged({ chainUnwalked: 'no-state' })).toEqual([{ id: 'probe.chain', status: 'fail', reason: 'the restored database has no audit_chain_state: the audit chain cannot be walked' }]);
    expect(judged({ chainUnwalked: 'no-secret' })[0]?.reason).toMatch(/^secret material missing: the audit chain cannot be verified; .*the only copy of its auto-minted secrets/);
    expect(judged({ chainUnwalked: 'no-secret' }, PG_ARCHIVE_FORMAT)[0]?.reason).toMatch(/\(~\/\.z4j\/secret\.env, the only copy of its secrets\)/);
  });

  it("rows signed with another key than the secret's fail probe.secret-key, naming key ids only", () => {
    const other = 'b'.repeat(64);
    const [f] = judged({ chainSigner: { rowsKeyId: other, secretKeyId: KEY } });
    expect(f).toMatchObject({ id: 'probe.secret-key', status: 'fail', expected: other, observed: KEY });
    expect(f?.reason).toMatch(/^the secret supplied is not the one that signed this audit chain: its key id is a{12}…, the chain's rows were signed with key id b{12}…/);
    expect(judged({ chainSigner: { rowsKeyId: KEY, secretKeyId: KEY } })).toEqual([]);
  });

  it('nothing read beside the facts is nothing judged (the compare stage holds the rest)', () => {
    expect(judged({})).toEqual([]);
  });
});
