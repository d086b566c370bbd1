import { describe, expect, it } from 'vitest';
import { judgeChainState, type ChainStateObservation, type ChainStateRow } from '../../scenarios/z4j/chain-state.ts';

const h = (c: string) => c.repeat(64);
const row: ChainStateRow = {
  format_version: 1,
  generation: '0acb65abd1314ae88cf71c0d4a7a8347',
  installation_id: '50d801f2fcdc4068b4ec37ecbdde9774',
  state_key_id: h('k'),
  head_row_hmac: h('a'),
  head_hmac_key_id: h('k'),
  head_occurred_at: '2026-11-22 14:56:08.632656',
  head_id: 'c58c10db00254fc7bb1880a3121c4063',
  prune_row_hmac: null,
  prune_hmac_key_id: null,
  prune_occurred_at: null,
  prune_id: null,
  active_row_count: 300,
  active_key_counts: '{}',
  frozen_row_count: 0,
  frozen_snapshot_digest: null,
  retired_recovery_binding: 'null',
  state_mac: h('m'),
};
const good: ChainStateObservation = {
  state: row,
  chain: { length: 300, headHmac: h('a'), firstPrevHmac: null },
  headId: 'c58c10db-0025-4fc7-bb18-80a3121c4063',
  frozenRows: 0,
  secretKeyId: h('k'),
  mac: 'verified',
};
const judge = (o: Partial<ChainStateObservation>) => judgeChainState('archive', { ...good, ...o })[0]!;

describe("a z4j chain held against its signed state", () => {
  it('passes when the walk and the verified state agree', () => {
    expect(judge({}).status).toBe('pass');
  });
  it('finds the newest rows deleted (head and count moved back)', () => {
    expect(judge({ chain: { length: 297, headHmac: h('b'), firstPrevHmac: null }, headId: 'other' }).reason).toMatch(/297 active rows, its signed state says 300.*newest rows deleted/);
  });
  it('finds the oldest rows deleted without a signed prune', () => {
    expect(judge({ chain: { length: 300, headHmac: h('a'), firstPrevHmac: h('c') } }).reason).toMatch(/oldest rows were deleted without z4j's signed prune/);
  });
  it('finds rows marked legacy-frozen', () => {
    expect(judge({ chain: { length: 290, headHmac: h('a'), firstPrevHmac: null }, frozenRows: 10 }).reason).toMatch(/10 rows are marked legacy-frozen, the signed state says 0/);
  });
  it('fails a state whose MAC does not verify, and one signed with another key', () => {
    expect(judge({ mac: 'mismatch' }).reason).toMatch(/MAC does not verify/);
    expect(judge({ secretKeyId: h('x') }).reason).toMatch(/signed with key id k{12}…, the secret supplied has key id x{12}…/);
  });
  it('never passes without a secret or a walk', () => {
    const { secretKeyId: _a, mac: _b, ...noSecret } = good;
    expect(judgeChainState('restored', noSecret)[0]!.status).toBe('error');
    const { chain: _c, ...noWalk } = good;
    expect(judgeChainState('restored', noWalk)[0]!.status).toBe('error');
    expect(judgeChainState('restored', undefined)[0]!.status).toBe('error');
    expect(judgeChainState('restored', {})[0]!.status).toBe('fail');
  });
});

describe("z4j's state MAC, recomputed", () => {
  it('matches the state_mac a real z4j 1.13.0 install signed, and no other state', async () => {
    const { readFileSync } = await import('node:fs');
    const { stateMac } = await import('../../scenarios/z4j/chain-state.ts');
    const real = JSON.parse(readFileSync(new URL('./fixtures/z4j-chain-state-1.13.0.json', import.meta.url), 'utf8')) as { secret: string; row: ChainStateRow };
    expect(stateMac(real.secret, real.row)).toBe(real.row.state_mac);
    expect(stateMac(real.secret, { ...real.row, active_row_count: real.row.active_row_count - 1 })).not.toBe(real.row.state_mac);
    expect(stateMac(`${real.secret}x`, real.row)).not.toBe(real.row.state_mac);
  });
});
