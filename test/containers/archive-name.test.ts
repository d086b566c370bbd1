import { dockerRuntime } from '../../harness/runtime/docker.ts';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureCommand } from '../../harness/commands/capture.ts';
import { runDrill } from '../../harness/drill/run-drill.ts';
import { loadManifestFile } from '../../harness/manifest/load.ts';
import { ensureEngine } from '../../harness/runtime/engine.ts';
import { makeStandinDeployment, type StandinDeployment } from '../fixtures/hiveloom-standin/deployment.ts';
import { skipReason } from './engine.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

/**
 * A manifest records its archive's file name; a genuine archive drilled under
 * another name (renamed, rotated) still passes on its content, and the report
 * says the names differ.
 */
describe.skipIf(skipReason)('an archive drilled under another name than its manifest records', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-archive-name-'));
  let d: StandinDeployment;
  beforeAll(async () => {
    const runtime = await testRuntime();
    d = await makeStandinDeployment(runtime, dir);
    await captureCommand({ profile: 'hiveloom', archive: d.instanceArchive, appVersion: d.version, force: true, say: () => {} });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes on its content, with a note naming both names', async () => {
    const renamed = join(dir, 'renamed-by-rotation.tar.gz');
    copyFileSync(d.instanceArchive, renamed);
    const manifestPath = `${d.instanceArchive}.manifest.json`;
    const { manifest, sha256 } = await loadManifestFile(manifestPath);
    const r = await runDrill(
      { archive: renamed, manifestPath, manifestSha256: sha256, manifest, profile: d.profile, secrets: undefined, policy: { acceptEmpty: false, acceptDrop: false } },
      { runtime: dockerRuntime(await ensureEngine()) },
    );
    expect(r.checks.filter((c) => c.status !== 'pass')).toEqual([]);
    expect(r.verdict).toBe('passed');
    expect(r.archive.file).toBe('renamed-by-rotation.tar.gz');
    expect(r.notes).toContainEqual(
      `the manifest was captured for an archive named "${basename(d.instanceArchive)}"; this file is "renamed-by-rotation.tar.gz" (the verdict rests on its content, by sha256, not on its name)`,
    );
  });
});
