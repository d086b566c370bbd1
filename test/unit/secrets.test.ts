import { describe, expect, it } from 'vitest';
import { parseEnvFile, redact } from '../../harness/drill/secrets.ts';

describe('secrets', () => {
  it('reads KEY=VALUE files with comments, quotes and export', () => {
    const m = parseEnvFile('# c\nA=1\nexport B="two words"\n  C = \'x\' \n\nbad line\n');
    expect([...m]).toEqual([['A', '1'], ['B', 'two words'], ['C', 'x']]);
  });

  it('scrubs secret values from text and nested values', () => {
    expect(redact('key is s3cr3t-value!', ['s3cr3t-value'])).toBe('key is [redacted]!');
    expect(redact({ a: ['x s3cr3t-value y'] }, ['s3cr3t-value'])).toEqual({ a: ['x [redacted] y'] });
  });
});
