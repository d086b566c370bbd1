import { describe, expect, it } from 'vitest';
import { archiveNameNote } from '../../harness/drill/archive-name.ts';

describe("the manifest's archive.file against the archive's name", () => {
  it('says nothing when they agree', () => {
    expect(archiveNameNote('/backups/z4j-2026-11-22.db', 'z4j-2026-11-22.db')).toBeUndefined();
  });

  it('names both when they differ, quoted, whatever the manifest holds', () => {
    expect(archiveNameNote('/backups/latest.db', 'z4j-2026-11-22.db')).toBe(
      'the manifest was captured for an archive named "z4j-2026-11-22.db"; this file is "latest.db" (the verdict rests on its content, by sha256, not on its name)',
    );
    // A path where a file name belongs, or a control character, is shown as it is, escaped; a huge one is cut short.
    expect(archiveNameNote('/b/x.db', '../x.db\n')).toContain('named "../x.db\\n";');
    expect(archiveNameNote('/b/x.db', 'y'.repeat(10_000))!.length).toBeLessThan(400);
  });
});
