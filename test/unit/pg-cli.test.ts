import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../harness/cli.ts';
import { ExitCode } from '../../harness/errors.ts';

/**
 * `restore-drill backup`: bad input is one line and the usage exit code before
 * any engine is contacted (DOCKER_HOST points nowhere: reaching it would be exit 3),
 * and a password in --source is never printed.
 */
describe('restore-drill backup: bad input', () => {
  let stderr: string[];
  const dir = mkdtempSync(join(tmpdir(), 'rd-pg-usage-'));

  beforeEach(() => {
    stderr = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (stderr.push(String(s)), true));
    vi.stubEnv('DOCKER_HOST', 'tcp://127.0.0.1:1');
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });
  const run = (...args: string[]) => main(['node', 'restore-drill', 'backup', ...args]);

  it('needs --source and --out', async () => {
    expect(await run('--profile', 'z4j', '--out', join(dir, 'x.dump'))).toBe(ExitCode.usage);
    expect(stderr.join('')).toMatch(/required option '--source <url>'/);
  });

  it('refuses a URL without user or database, without printing its password', async () => {
    expect(await run('--profile', 'z4j', '--source', 'postgresql://:hunter2@db.internal:5432/', '--out', join(dir, 'y.dump'))).toBe(ExitCode.usage);
    const text = stderr.join('');
    expect(text.trim().split('\n')).toHaveLength(1);
    expect(text).toMatch(/must name user, host and database/);
    expect(text).not.toContain('hunter2');
  });

  it('refuses to overwrite an existing backup', async () => {
    const existing = join(dir, 'exists.dump');
    writeFileSync(existing, 'x');
    expect(await run('--profile', 'z4j', '--source', 'postgresql://u@h/db', '--out', existing)).toBe(ExitCode.usage);
    expect(stderr.join('')).toMatch(/exists: refusing to overwrite a backup/);
  });
});
