import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newDrillId, type DrillContainer } from '../../harness/runtime/index.ts';
import { z4jImage } from '../../scenarios/z4j/image.ts';
import { Z4J_BEFORE_SCHEMA_VERSION, Z4J_FIRST_CHAIN_VERSION, Z4J_OLDER_VERSION, Z4J_PINNED_VERSION, Z4J_SECOND_CHAIN_VERSION } from '../../scenarios/z4j/version.ts';
import { readZ4jSecretEnv } from '../../scenarios/z4j/secret-env.ts';
import { generatedSecretEnvs, SECRET_ENV_CASES } from '../helpers/z4j-secret-env-corpus.ts';
import { skipReason } from './engine.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

/**
 * The harness's reader of secret.env against z4j's own (z4j_brain.secret_store
 * `_parse_document`, run in the installed z4j's image): on every case of the
 * corpus and on generated files, the same names and values, or both refuse.
 */
const PY = `
import base64, json, sys
from z4j_brain.secret_store import _parse_document, SecretStoreError
out = []
for b in json.load(open(sys.argv[1])):
    try:
        out.append({"ok": True, "values": _parse_document(base64.b64decode(b))})
    except SecretStoreError as e:
        out.append({"ok": False, "error": str(e)})
print(json.dumps(out))
`;

const VERSIONS = [Z4J_PINNED_VERSION, Z4J_OLDER_VERSION, Z4J_BEFORE_SCHEMA_VERSION, Z4J_SECOND_CHAIN_VERSION, Z4J_FIRST_CHAIN_VERSION];

describe.skipIf(skipReason).each(VERSIONS)("secret.env: the harness reads it as z4j %s's own reader does", (version) => {
  let c: DrillContainer;
  beforeAll(async () => {
    const runtime = await testRuntime();
    const image = await runtime.image(z4jImage(version));
    c = await runtime.start({ image: image.tag, drillId: newDrillId(), labels: { 'io.restore-drill.role': 'test' } });
  });
  afterAll(async () => {
    await c?.stop();
  });

  async function z4jReads(files: Buffer[]): Promise<Array<{ ok: true; values: Record<string, string> } | { ok: false; error: string }>> {
    await c.putFiles([
      { target: '/tmp/read.py', content: PY, mode: 0o644 },
      { target: '/tmp/files.json', content: JSON.stringify(files.map((f) => f.toString('base64'))), mode: 0o644 },
    ]);
    const r = await c.exec(['python3', '/tmp/read.py', '/tmp/files.json'], { timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout) as never;
  }

  function ours(file: Buffer) {
    const r = readZ4jSecretEnv(file);
    return r.ok ? { ok: true, values: Object.fromEntries(r.values) } : { ok: false };
  }

  it('agrees on every case of the corpus', async () => {
    const files = SECRET_ENV_CASES.map((x) => Buffer.from(x.text));
    const theirs = await z4jReads(files);
    SECRET_ENV_CASES.forEach((x, i) => {
      const t = theirs[i]!;
      expect([x.name, ours(files[i]!)]).toEqual([x.name, t.ok ? t : { ok: false }]);
    });
    // The corpus reaches both outcomes.
    expect(theirs.filter((t) => t.ok).length).toBeGreaterThan(5);
    expect(theirs.filter((t) => !t.ok).length).toBeGreaterThan(5);
  });

  it('agrees on 400 generated files', async () => {
    const files = generatedSecretEnvs(400, 20261205);
    const theirs = await z4jReads(files);
    files.forEach((f, i) => {
      const t = theirs[i]!;
      expect([JSON.stringify(f.toString('latin1')), ours(f)]).toEqual([JSON.stringify(f.toString('latin1')), t.ok ? t : { ok: false }]);
    });
    expect(theirs.filter((t) => t.ok && Object.keys(t.values).length > 0).length).toBeGreaterThan(10);
  });
});
