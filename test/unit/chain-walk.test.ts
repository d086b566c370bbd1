import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HMAC_BLOCK, walkChain, type ChainRow } from '../../harness/checks/hmac-chain.ts';
import { compareChain } from '../../harness/verdict/compare.ts';

const KEY = Buffer.from('k'.repeat(32));

function chain(n: number, key = KEY, firstPrev: string | null = null): ChainRow[] {
  const rows: ChainRow[] = [];
  let prev = firstPrev;
  for (let i = 0; i < n; i++) {
    const message = JSON.stringify({ i, prev });
    const rowHmac = createHmac('sha256', key).update(message).digest('hex');
    rows.push({ id: `r${i}`, rowHmac, prevHmac: prev, message });
    prev = rowHmac;
  }
  return rows;
}

describe('HMAC chain walk', () => {
  it('verifies and links every row of a clean chain', () => {
    const rows = chain(100);
    const obs = walkChain(rows, { table: 't', keys: [{ key: KEY }] });
    expect(obs).toMatchObject({ length: 100, verifiedRows: 100, problemCount: 0, firstPrevHmac: null, headHmac: rows[99]!.rowHmac });
  });

  it('names the row whose content changed after signing', () => {
    const rows = chain(10);
    rows[4] = { ...rows[4]!, message: String(rows[4]!.message).replace('"i":4', '"i":5') };
    const obs = walkChain(rows, { table: 't', keys: [{ key: KEY }] });
    expect(obs.problems).toEqual([{ kind: 'hmac-mismatch', position: 4, rowId: 'r4' }]);
    const findings = compareChain({ table: 't', length: 10, headHmac: rows[9]!.rowHmac, startsAtGenesis: true }, obs);
    expect(findings.find((f) => f.status === 'fail')!.reason).toMatch(/row r4 .*HMAC does not match/);
  });

  it('says the secret is wrong when no row verifies but the links hold', () => {
    const rows = chain(10);
    const obs = walkChain(rows, { table: 't', keys: [{ key: Buffer.from('other') }] });
    const findings = compareChain({ table: 't', length: 10, headHmac: rows[9]!.rowHmac, startsAtGenesis: true }, obs);
    const fails = findings.filter((f) => f.status === 'fail');
    expect(fails).toHaveLength(1);
    expect(fails[0]!.reason).toMatch(/secret supplied is not the one that signed this chain/);
  });

  it('accepts an older key listed after the current one', () => {
    const rows = chain(5, Buffer.from('old-key'));
    expect(walkChain(rows, { table: 't', keys: [{ key: KEY }, { key: Buffer.from('old-key') }] }).verifiedRows).toBe(5);
  });

  it('reports a chain break at the row after a deleted one', () => {
    const rows = chain(10);
    rows.splice(5, 1);
    const obs = walkChain(rows, { table: 't', keys: [{ key: KEY }] });
    expect(obs.problems).toEqual([{ kind: 'chain-break', position: 5, rowId: 'r6', expectedPrev: rows[4]!.rowHmac, actualPrev: rows[5]!.prevHmac }]);
    const findings = compareChain({ table: 't', length: 10, headHmac: rows[8]!.rowHmac, startsAtGenesis: true }, obs);
    expect(findings.filter((f) => f.status === 'fail').map((f) => f.reason).join('\n')).toMatch(/chain break at row r6/);
  });

  it('tells a recorded pruning from a truncation', () => {
    const full = chain(10);
    const pruned = full.slice(3);
    const obs = walkChain(pruned, { table: 't', keys: [{ key: KEY }] });
    const recorded = compareChain({ table: 't', length: 7, headHmac: full[9]!.rowHmac, startsAtGenesis: false, firstPrevHmac: full[2]!.rowHmac }, obs);
    expect(recorded.every((f) => f.status === 'pass')).toBe(true);
    const expectsGenesis = compareChain({ table: 't', length: 7, headHmac: full[9]!.rowHmac, startsAtGenesis: true }, obs);
    expect(expectsGenesis.filter((f) => f.status === 'fail').map((f) => f.reason)).toEqual([expect.stringMatching(/chain truncated/)]);
  });

  it('keeps memory flat: only the first problems are kept, all are counted', () => {
    const rows = chain(200);
    const obs = walkChain(rows, { table: 't', keys: [{ key: Buffer.from('x') }], maxProblems: 3 });
    expect(obs.problems).toHaveLength(3);
    expect(obs.problemCount).toBe(200);
  });
});

describe('parallel chain walk, stitched', () => {
  it('gives the same observation as one walk, including a break at a slice boundary', async () => {
    const { stitchSegments } = await import('../../harness/checks/hmac-chain.ts');
    const rows = chain(30);
    rows.splice(10, 1); // row r10 missing: r11 now starts the second slice and links to nothing before it
    rows[20] = { ...rows[20]!, message: 'changed' };
    const whole = walkChain(rows, { table: 't', keys: [{ key: KEY }] });
    const parts = [rows.slice(0, 10), rows.slice(10, 20), rows.slice(20)].map((r) => walkChain(r, { table: 't', keys: [{ key: KEY }] }));
    const stitched = stitchSegments('t', parts);
    const { firstRowId: _a, ...w } = whole;
    expect(stitched).toEqual(w);
    expect(stitched.problems.map((p) => `${p.kind}@${p.position}`)).toEqual(['chain-break@10', 'hmac-mismatch@20']);
  });
});

describe('messages handed over with room for the inner pad', () => {
  /** The same chain, each message written HMAC_BLOCK bytes into a buffer whose first bytes hold junk. */
  function padded(rows: ChainRow[]): ChainRow[] {
    return rows.map((r) => {
      const body = Buffer.from(r.message as string);
      const buf = Buffer.alloc(HMAC_BLOCK + body.length + 7, 0xaa); // junk in front and after the end
      body.copy(buf, HMAC_BLOCK);
      return { ...r, message: { buf, end: HMAC_BLOCK + body.length } };
    });
  }

  /** Another key (not the same one zero-padded, which HMAC treats as equal). */
  const flipLast = (k: Buffer) => Buffer.from(k.map((b, i) => (i === k.length - 1 ? b ^ 1 : b)));

  for (const length of [1, 32, 64, 65, 200]) {
    it(`verifies exactly what createHmac verifies, with a ${length}-byte key${length > 64 ? ' (longer than a block: hashed first)' : ''}`, () => {
      const key = Buffer.from(Array.from({ length }, (_, i) => (i * 37 + 11) & 255));
      const rows = chain(20, key);
      const plain = walkChain(rows, { table: 't', keys: [{ key }] });
      expect(plain).toMatchObject({ verifiedRows: 20, problemCount: 0 });
      expect(walkChain(padded(rows), { table: 't', keys: [{ key }] })).toEqual(plain);
      // A wrong key tried first, then the right one; and the wrong key alone verifies nothing.
      expect(walkChain(padded(rows), { table: 't', keys: [{ key: Buffer.from('wrong') }, { key }] })).toEqual(plain);
      expect(walkChain(padded(rows), { table: 't', keys: [{ key: flipLast(key) }] })).toMatchObject({ verifiedRows: 0, problemCount: 20 });
    });
  }

  it('finds a changed byte of a padded message', () => {
    const rows = padded(chain(5));
    const m = rows[3]!.message as { buf: Buffer; end: number };
    m.buf[m.end - 2] = m.buf[m.end - 2]! ^ 1;
    expect(walkChain(rows, { table: 't', keys: [{ key: KEY }] }).problems).toEqual([{ kind: 'hmac-mismatch', position: 3, rowId: 'r3' }]);
  });
});
