import { describe, expect, it } from 'vitest';
import { judgeBinaryVersion } from '../../scenarios/hiveloom/contract.ts';
import type { Manifest } from '../../harness/manifest/schema.ts';

/** The contract holds the image's binary to the version that made the archive (provision.version), as the session once did itself. */
describe('Hiveloom contract: the binary version seen at provision', () => {
  const m = { app: { name: 'hiveloom', version: '0.2.0' } } as unknown as Manifest;
  const seen = (exitCode: number, stdout: string, version?: string) => ({ binary: { exitCode, stdout, stderr: '', ...(version ? { version } : {}) } });

  it('passes the version that made the archive', () => {
    expect(judgeBinaryVersion(m, seen(0, 'hiveloom 0.2.0\n', '0.2.0'))).toEqual([{ id: 'provision.version', status: 'pass', reason: 'hiveloom 0.2.0, the version that made the archive' }]);
  });

  it('is an error for another version, naming both', () => {
    expect(judgeBinaryVersion(m, seen(0, 'hiveloom 0.3.0\n', '0.3.0'))).toEqual([
      { id: 'provision.version', status: 'error', reason: 'the image runs hiveloom 0.3.0, the archive was made by 0.2.0: supply the 0.2.0 binary', expected: '0.2.0', observed: '0.3.0' },
    ]);
  });

  it('is an error for a binary that does not run or says no version', () => {
    expect(judgeBinaryVersion(m, seen(127, 'not found'))[0]).toMatchObject({ id: 'provision.version', status: 'error', reason: expect.stringMatching(/^the image's hiveloom does not run \(exit 127\)/) });
    expect(judgeBinaryVersion(m, seen(0, 'garbage'))[0]).toMatchObject({ status: 'error', reason: expect.stringMatching(/^the image's hiveloom does not run \(exit 0\)/) });
  });
});
