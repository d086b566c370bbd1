import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * The layers (.dependency-cruiser.cjs) hold for the project, and each rule
 * objects to a tree that breaks it on purpose (test/fixtures/dependency-rules/),
 * so a rule that matched nothing could not pass here unnoticed.
 */
const root = resolve(import.meta.dirname, '../..');
const bin = join(root, 'node_modules/.bin/depcruise');
const config = join(root, '.dependency-cruiser.cjs');

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

async function cruise(cwd: string): Promise<Violation[]> {
  const dirs = ['harness', 'scenarios', 'bin'].filter((d) => existsSync(join(cwd, d)));
  // Exit code is the number of violations; the JSON says which.
  const { stdout } = await promisify(execFile)(bin, [...dirs, '--config', config, '--output-type', 'json'], { cwd, maxBuffer: 64 << 20 }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }));
  return (JSON.parse(stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

describe('dependency rules', () => {
  it('the project breaks none: no upward import, no circle, harness/ never importing scenarios/, the engine found by commands only', async () => {
    expect(await cruise(root)).toEqual([]);
  });

  const fixture = (name: string) => join(root, 'test/fixtures/dependency-rules', name);
  it.each([
    ['upward', 'layer-model-imports-above', 'harness/model/vocab.ts', 'harness/drill/stage.ts'],
    ['circular', 'no-circular', 'harness/verdict/a.ts', 'harness/verdict/b.ts'],
    ['scenarios', 'harness-imports-scenarios', 'harness/drill/pipeline.ts', 'scenarios/app/index.ts'],
    ['profile-reaches-up', 'scenario-imports-commands', 'scenarios/app/session.ts', 'harness/commands/run.ts'],
    ['engine-found-again', 'engine-found-below-commands', 'scenarios/app/capture.ts', 'harness/runtime/engine.ts'],
    // Packages resolve from the project's node_modules, four folders up from a fixture tree.
    ['dockerode-constructed', 'dockerode-outside-engine', 'scenarios/app/server.ts', '../../../../node_modules/dockerode/lib/docker.js'],
    ['testcontainers-in-cli', 'testcontainers-outside-tests', 'harness/runtime/servers.ts', '../../../../node_modules/testcontainers/build/index.js'],
  ])('a tree with a deliberate %s import breaks %s', async (name, rule, from, to) => {
    const found = await cruise(fixture(name));
    expect(found.map((v) => ({ rule: v.rule.name, from: v.from, to: v.to }))).toContainEqual({ rule, from, to });
    expect(new Set(found.map((v) => v.rule.name))).toEqual(new Set([rule]));
  });
});
