import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SecretBag } from '../../harness/model/secrets.ts';
import { readZ4jSecretEnv, readZ4jSecrets, z4jReadDigest, z4jSecret } from '../../scenarios/z4j/secret-env.ts';
import { ORIGINAL, ORIGINAL_VALUES, SECRET_ENV_CASES } from '../helpers/z4j-secret-env-corpus.ts';
import { readSecretsFile } from '../../harness/files/secrets-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'rd-z4j-secret-env-'));
let n = 0;
function bag(text: string | Buffer): SecretBag {
  const p = join(dir, `s${++n}.env`);
  writeFileSync(p, text, { mode: 0o600 });
  return readSecretsFile(p);
}

describe('secret.env as z4j 1.13.0 reads it (z4j_brain.secret_store._parse_document)', () => {
  it.each(SECRET_ENV_CASES)('$name', ({ text, expect: want }) => {
    const read = readZ4jSecretEnv(Buffer.from(text));
    if (want instanceof RegExp) {
      expect(read.ok).toBe(false);
      if (!read.ok) {
        expect(read.problem).toMatch(want);
        // Never a value in the reason.
        expect(read.problem).not.toMatch(/secret-one|chain-secret|session-mnopqr|postgres:/);
      }
    } else {
      expect(read).toEqual({ ok: true, values: new Map(Object.entries(want)) });
    }
  });
});

describe('the read digest', () => {
  const original = readZ4jSecrets(bag(ORIGINAL));
  it('is the same for every file z4j reads as the original (line ends, comments, spacing, order)', () => {
    expect(original.ok).toBe(true);
    const same = SECRET_ENV_CASES.filter((c) => !(c.expect instanceof RegExp) && JSON.stringify(c.expect) === JSON.stringify(ORIGINAL_VALUES));
    expect(same.length).toBeGreaterThanOrEqual(6);
    for (const c of same) expect([c.name, readZ4jSecrets(bag(c.text))]).toEqual([c.name, original]);
  });

  it('differs for any other name or value, and cannot be made by shifting text between a name and a value', () => {
    const d = (o: Record<string, string>) => z4jReadDigest(new Map(Object.entries(o)));
    const base = d(ORIGINAL_VALUES);
    expect(d({ ...ORIGINAL_VALUES, Z4J_SECRET: 'secret-one-abcdeF' })).not.toBe(base);
    expect(d({ ...ORIGINAL_VALUES, Z4J_METRICS_AUTH_TOKEN: 'token1' })).not.toBe(base);
    const { Z4J_SESSION_SECRET: _, ...fewer } = ORIGINAL_VALUES;
    expect(d(fewer)).not.toBe(base);
    // Unambiguous: a value that looks like a separator does not collide with two entries.
    expect(d({ A: 'b","C":"d' })).not.toBe(d({ A: 'b', C: 'd' }));
    expect(d({ A: 'x\n', B: 'y' })).not.toBe(d({ A: 'x', B: '\ny' }));
  });

  it('names what z4j reads and says why z4j refuses a file, never a value', () => {
    expect(original).toEqual({ ok: true, names: ['Z4J_AUDIT_CHAIN_SECRET', 'Z4J_SECRET', 'Z4J_SESSION_SECRET'], sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const refused = readZ4jSecrets(bag(`export Z4J_AUDIT_CHAIN_SECRET=chain-secret-ghijkl\n`));
    expect(refused).toEqual({ ok: false, problem: expect.stringMatching(/^z4j refuses it: secret\.env line 1 contains unsupported key/) });
    expect(JSON.stringify(refused)).not.toContain('chain-secret-ghijkl');
  });
});

describe("the value the drill walks the chain with is z4j's", () => {
  it('keeps quotes z4j keeps (the harness reader strips them), and they are scrubbed from reports too', () => {
    const b = bag('Z4J_AUDIT_CHAIN_SECRET="quoted-chain-secret"\n');
    expect(b.get('Z4J_AUDIT_CHAIN_SECRET')).toBe('quoted-chain-secret');
    expect(z4jSecret(b, 'Z4J_AUDIT_CHAIN_SECRET')).toBe('"quoted-chain-secret"');
    readZ4jSecrets(b);
    expect(b.valuesToRedact()).toEqual(expect.arrayContaining(['quoted-chain-secret', '"quoted-chain-secret"']));
  });

  it('reads values the harness reader splits differently (a NEL line break) and scrubs them', () => {
    const b = bag('Z4J_SECRET=first-value-1\x85Z4J_AUDIT_CHAIN_SECRET=second-value-2\n');
    expect(z4jSecret(b, 'Z4J_AUDIT_CHAIN_SECRET')).toBe('second-value-2');
    readZ4jSecrets(b);
    expect(b.valuesToRedact()).toEqual(expect.arrayContaining(['first-value-1', 'second-value-2']));
  });

  it('is nothing for a file z4j refuses', () => {
    expect(z4jSecret(bag('Z4J_AUDIT_CHAIN_SECRET=a\nZ4J_AUDIT_CHAIN_SECRET=b\n'), 'Z4J_AUDIT_CHAIN_SECRET')).toBeUndefined();
  });
});
