import { dockerRuntime } from '../../harness/runtime/docker.ts';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { planDrills } from '../../harness/drill/plan.ts';
import { captureCommand } from '../../harness/commands/capture.ts';
import { runDrill } from '../../harness/drill/run-drill.ts';
import type { DrillReport } from '../../harness/model/types.ts';
import { ensureEngine } from '../../harness/runtime/engine.ts';
import type { ManifestInput } from '../../harness/manifest/schema.ts';
import { readSecretsFile } from '../../harness/files/secrets-file.ts';

/** Drills one archive in-process, as `restore-drill run` would. */
export async function drill(profile: string, archive: string, opts: { manifest?: string; secrets?: string; acceptEmpty?: boolean } = {}): Promise<DrillReport> {
  const engine = await ensureEngine();
  const [plan] = await planDrills({ profile, archives: [archive], ...opts });
  return runDrill(plan!, { runtime: dockerRuntime(engine) });
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

/**
 * The manifest a damaged z4j backup got before capture refused damage (or from
 * an older restore-drill): expectations read from the archive as it is, the
 * chain not judged (capture without the secret), then the secrets file's
 * reference added. For tests of what the drill itself finds in such a backup;
 * `manifest capture` refuses these archives (see assertCaptureRefuses).
 */
export async function captureUnchecked(archive: string, secrets: string): Promise<string> {
  const { z4jProfile } = await import('../../scenarios/z4j/index.ts');
  const { secretsReference } = await import('../../scenarios/z4j/expectations.ts');
  const m = await z4jProfile.capture({ archive, runtime: async () => dockerRuntime(await ensureEngine()) }); // a dump's scratch server on the CLI's runtime, as capture runs it
  Object.assign(m, secretsReference(readSecretsFile(secrets)));
  writeFileSync(`${archive}.manifest.json`, JSON.stringify(m, null, 2));
  return `${archive}.manifest.json`;
}

/** `manifest capture` of this archive is refused (exit 2 as a usage error) with one line; returns it. */
export async function captureRefusal(profile: string, archive: string, secrets?: string): Promise<string> {
  const { UsageError } = await import('../../harness/errors.ts');
  const e = await capture(profile, archive, secrets).then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!(e instanceof UsageError)) throw new Error(`capture of ${archive} was not refused: ${String(e)}`);
  if (e.message.includes('\n')) throw new Error(`capture's refusal is more than one line: ${e.message}`);
  return e.message;
}
