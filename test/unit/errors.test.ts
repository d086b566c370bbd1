import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DrillError, ERROR_CODES, EnvironmentError, ExitCode, InternalError, TimeoutError, UsageError, type ErrorCode } from '../../harness/errors.ts';

const root = resolve(import.meta.dirname, '../..');

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile() && /\.(ts|mjs)$/.test(d.name) && !join(d.parentPath, d.name).includes('/native/target/'))
    .map((d) => join(d.parentPath, d.name));
}

describe('error codes', () => {
  it('every code has a meaning, and the classes carry their exit codes', () => {
    for (const [code, meaning] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^RD_[A-Z0-9_]+$/);
      expect(meaning.length).toBeGreaterThan(10);
    }
    const code: ErrorCode = 'RD_CONTAINER_COMMAND';
    expect(new UsageError('x').exitCode).toBe(ExitCode.usage);
    expect([new EnvironmentError('x').exitCode, new TimeoutError('x').exitCode, new DrillError('x', code).exitCode, new InternalError('x').exitCode]).toEqual([3, 3, 3, 3]);
    expect(new InternalError('x').code).toBe('RD_INTERNAL');
  });

  it('harness/, scenarios/ and bin/ throw no bare Error: each error they make carries a code from the one list', () => {
    // The scan reads every folder it names (an empty one would pass anything).
    expect(sources('bin').map((f) => f.slice(root.length + 1))).toEqual(expect.arrayContaining(['bin/cli-bundle.mjs', 'bin/main.ts', 'bin/restore-drill.mjs']));
    const bare = [...sources('harness'), ...sources('scenarios'), ...sources('bin')].flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .flatMap((line, i) => (/\bnew Error\(|\bthrow Error\(/.test(line) ? [`${f.slice(root.length + 1)}:${i + 1}`] : [])),
    );
    expect(bare).toEqual([]);
  });

  it('every RD_ code written in the sources is one of the list', () => {
    const used = new Set([...sources('harness'), ...sources('scenarios'), ...sources('bin')].flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/'(RD_[A-Z0-9_]+)'/g)].map((m) => m[1]!)));
    expect([...used].filter((c) => !(c in ERROR_CODES))).toEqual([]);
  });
});

describe("bin/cli-bundle.mjs's errors", () => {
  it('carry a code from the one list (it cannot import the harness: it runs before TypeScript can be loaded)', async () => {
    const { BundleError } = await import('../../bin/cli-bundle.mjs');
    const e = new BundleError('x');
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe('RD_CLI_BUNDLE');
    expect(e.code in ERROR_CODES).toBe(true);
  });
});
