import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * The third-party verifiers evidence is checked with, pinned: securesystemslib
 * (DSSE, Ed25519) and the in-toto attestation bindings (Statement v1,
 * test-result predicate). Installed by the tests themselves into a project-local
 * virtual environment, so a fresh clone (and CI) gets them without a manual step.
 */
export const THIRD_PARTY_PACKAGES = ['securesystemslib[crypto]==1.6.0', 'in-toto-attestation==0.9.3'];

const VENV = resolve('node_modules/.cache/restore-drill/py-intoto');
/** Written last, once both packages import: a half-made environment is never taken for a ready one. */
const READY = join(VENV, 'ready');

/**
 * The virtual environment's python, made on first use; or why it could not be
 * (no python3, no venv module, pip unable to install): the caller skips and
 * prints that reason, never silently.
 */
export async function thirdPartyPython(): Promise<{ python: string } | { skip: string }> {
  const python = join(VENV, 'bin', 'python');
  if (existsSync(READY)) return { python };
  try {
    await run('python3', ['--version']);
  } catch (e) {
    return { skip: `python3 cannot be run here: ${lastLine(e)}` };
  }
  // Made beside the final place and renamed in, so two runs at once never share a half-made one.
  const staging = `${VENV}.${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(resolve(VENV, '..'), { recursive: true });
  try {
    await run('python3', ['-m', 'venv', staging], { timeout: 120_000 });
    await run(join(staging, 'bin', 'python'), ['-m', 'pip', 'install', '--disable-pip-version-check', '--quiet', ...THIRD_PARTY_PACKAGES], { timeout: 600_000, maxBuffer: 16 << 20 });
    await run(join(staging, 'bin', 'python'), ['-c', 'import securesystemslib.dsse, in_toto_attestation.v1.statement, in_toto_attestation.predicates.test_result.v0.test_result_pb2'], { timeout: 60_000 });
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    return { skip: `pip could not install ${THIRD_PARTY_PACKAGES.join(' and ')}: ${lastLine(e)}` };
  }
  writeFileSync(join(staging, 'ready'), `${THIRD_PARTY_PACKAGES.join('\n')}\n`);
  try {
    renameSync(staging, VENV);
  } catch {
    // Another run finished first: use its environment.
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(READY)) return { skip: `the environment at ${VENV} could not be put in place` };
  }
  return { python };
}

/** What a failed command said last (its stderr, else the error), short. */
function lastLine(e: unknown): string {
  const err = e as Error & { stderr?: string };
  const said = (err.stderr || err.message).trim().split('\n').filter(Boolean).pop() ?? err.message;
  return said.slice(0, 300);
}
