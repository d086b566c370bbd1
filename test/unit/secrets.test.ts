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

describe('reading a secrets file', () => {
  it('warns when other users can read it, and not when it is 0600', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { SecretBag } = await import('../../harness/drill/secrets.ts');
    const dir = mkdtempSync(join(tmpdir(), 'rd-sec-'));
    writeFileSync(join(dir, 'open.env'), 'Z4J_SECRET=x\n', { mode: 0o644 });
    writeFileSync(join(dir, 'closed.env'), 'Z4J_SECRET=x\n', { mode: 0o600 });
    expect(SecretBag.fromFile(join(dir, 'open.env')).warnings).toEqual([expect.stringMatching(/can be read by every user on this host \(mode o\+r\); chmod 600 it$/)]);
    expect(SecretBag.fromFile(join(dir, 'closed.env')).warnings).toEqual([]);
  });
});
