import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { planDrills } from '../../harness/commands/run.ts';
import { captureCommand } from '../../harness/commands/capture.ts';
import { runDrill } from '../../harness/drill/run-drill.ts';
import type { DrillReport } from '../../harness/drill/types.ts';
import { ensureEngine } from '../../harness/runtime/index.ts';
import type { ManifestInput } from '../../harness/manifest/schema.ts';

/** Drills one archive in-process, as `restore-drill run` would. */
export async function drill(profile: string, archive: string, opts: { manifest?: string; secrets?: string; acceptEmpty?: boolean } = {}): Promise<DrillReport> {
  const engine = await ensureEngine();
  const [plan] = await planDrills({ profile, archives: [archive], ...opts });
  return runDrill(plan!, { engine });
}

/** Writes `<archive>.manifest.json` from the archive, as `restore-drill manifest capture` would. */
export async function capture(profile: string, archive: string, secrets?: string): Promise<string> {
  await captureCommand({ profile, archive, ...(secrets ? { secrets } : {}), force: true, say: () => {} });
  return `${archive}.manifest.json`;
}

/** A copy of an archive (and its manifest, edited if asked) under a new name. */
export function variant(archive: string, name: string, edit?: (m: ManifestInput) => void): string {
  const copy = archive.replace(/[^/]+$/, name);
  copyFileSync(archive, copy);
  const manifest = JSON.parse(readFileSync(`${archive}.manifest.json`, 'utf8')) as ManifestInput;
  manifest.archive.file = name;
  edit?.(manifest);
  writeFileSync(`${copy}.manifest.json`, JSON.stringify(manifest, null, 2));
  return copy;
}

export function failures(r: DrillReport): string[] {
  return r.checks.filter((c) => c.status !== 'pass').map((c) => `${c.stage}/${c.id}: ${c.reason}`);
}
