import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMAND_LIMIT_FLOOR_MS, commandLimit } from '../../harness/drill/command-limit.ts';
import { parseManifest } from '../../harness/manifest/load.ts';
import { z4jProfile } from '../../scenarios/z4j/index.ts';

const small = parseManifest(JSON.parse(readFileSync(new URL('./fixtures/manifests/z4j-sqlite-1.13.0.manifest.json', import.meta.url), 'utf8')));
const withChain = (rows: number, mib: number) => ({ ...small, archive: { ...small.archive, sizeBytes: mib * 2 ** 20 }, expectations: { ...small.expectations, chain: { ...small.expectations.chain!, length: rows } } });

describe('the limit for one command in a drill container', () => {
  it('is the floor for a small archive', () => {
    expect(commandLimit(z4jProfile, small)).toEqual({ ms: COMMAND_LIMIT_FLOOR_MS, explicit: false });
  });

  it("grows with the archive: z4j's own restore took about 350 s at 216k rows and 900 s at 1M", () => {
    expect(commandLimit(z4jProfile, withChain(216_000, 160)).ms).toBeGreaterThan(2 * 350_000 * 0.9);
    expect(commandLimit(z4jProfile, withChain(1_000_000, 757)).ms).toBeGreaterThan(2 * 900_000);
  });

  it('is what --exec-timeout says when given, even below the floor', () => {
    expect(commandLimit(z4jProfile, withChain(1_000_000, 757), 5_000)).toEqual({ ms: 5_000, explicit: true });
  });
});
