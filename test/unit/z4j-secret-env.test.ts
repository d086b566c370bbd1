import { describe, expect, it } from 'vitest';
import { parseEnvFile } from '../../harness/drill/secrets.ts';
import { secretEnvDifferences } from '../../scenarios/z4j/secret-env.ts';

describe("secret.env as z4j reads it, against the harness's reading", () => {
  const minted = 'Z4J_SECRET=abcdefghijkl\nZ4J_AUDIT_CHAIN_SECRET=mnopqrstuvwx\n# a comment\n\n';

  it('finds nothing in a file as z4j mints it', () => {
    expect(secretEnvDifferences(minted)).toEqual([]);
  });

  it('names an export prefix, quotes, duplicates, empty values and lines without "=", never the values', () => {
    const text = 'export Z4J_SECRET=abcdefghijkl\nZ4J_AUDIT_CHAIN_SECRET="mnopqrstuvwx"\nZ4J_AUDIT_CHAIN_SECRET=again\nZ4J_METRICS_AUTH_TOKEN=\nnot a setting\n';
    const found = secretEnvDifferences(text);
    expect(found).toEqual([
      expect.stringMatching(/^line 1 starts with "export ": z4j reads the key as "export Z4J_SECRET" and refuses the file/),
      expect.stringMatching(/^line 2: Z4J_AUDIT_CHAIN_SECRET's value is in quotes: z4j keeps them/),
      expect.stringMatching(/^line 3 repeats Z4J_AUDIT_CHAIN_SECRET: z4j refuses a duplicate key/),
      expect.stringMatching(/^line 4: Z4J_METRICS_AUTH_TOKEN is empty/),
      expect.stringMatching(/^line 5 has no "=": z4j refuses the whole file/),
    ]);
    for (const f of found) expect(f).not.toMatch(/mnopqrstuvwx|abcdefghijkl/);
  });

  it('flags exactly the lines the harness reads differently from z4j', () => {
    // The harness strips the quotes z4j keeps: the keys would differ.
    expect(parseEnvFile('Z4J_AUDIT_CHAIN_SECRET="k"\n').get('Z4J_AUDIT_CHAIN_SECRET')).toBe('k');
    expect(secretEnvDifferences('Z4J_AUDIT_CHAIN_SECRET="k"\n')).toHaveLength(1);
    expect(secretEnvDifferences("Z4J_AUDIT_CHAIN_SECRET=it's\n")).toEqual([]);
  });
});
