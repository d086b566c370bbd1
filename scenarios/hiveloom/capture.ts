import { spawnSync } from 'node:child_process';
import { rm, stat } from 'node:fs/promises';
import { makeWorkDir } from '../../harness/runtime/work-dir.ts';
import { basename, join } from 'node:path';
import { sha256File } from '../../harness/archive/hash.ts';
import { UsageError } from '../../harness/errors.ts';
import type { Manifest } from '../../harness/manifest/schema.ts';
import type { CaptureInput } from '../../harness/profile.ts';
import { TOOL_VERSION } from '../../harness/version.ts';
import { openArchive, refusal, type OpenedArchive } from './archive.ts';
import { decryptFailure, ignoredNote, readFacts } from './facts.ts';
import { envBinarySource, type HiveloomBinarySource } from './image.ts';
import { ARCHIVE_FORMAT, defaultTenantScopeReason, FRESH_SERVER_TENANT } from './layout.ts';
import { parseVersion } from './parse.ts';

/**
 * Expectations from the archive itself, read with the harness's safe tar
 * reader: tenants (instance archives), each tenant's current agents and
 * credentials, fingerprints. Hiveloom records no version in its archives, so
 * it comes from --app-version or from asking the supplied binary. An archive
 * that a drill could only fail (refused entries, inconsistent files, no
 * master.key, credentials the key does not open) is refused here, at backup
 * time, when it can still be taken again.
 */
export async function captureHiveloom(input: CaptureInput, source: HiveloomBinarySource = envBinarySource()): Promise<Manifest> {
  const work = await makeWorkDir('capture');
  try {
    const a = await openArchive(input.archive, join(work, 'x'));
    const problems = archiveProblems(a);
    if (problems.length > 0) throw new UsageError(`${input.archive} cannot be drilled as it is: ${problems.join('; ')}`, 'RD_ARCHIVE_FORMAT');
    const backup = a.backup!;
    if (backup.scope === 'tenant' && backup.tenant?.slug === FRESH_SERVER_TENANT) input.warn?.(`${input.archive}: ${defaultTenantScopeReason(backup.tenant.slug)}; its drills will fail`);
    const facts = readFacts(a.dataRoot, backup, a.masterKey, { strayStores: true });
    if (facts.problems.length > 0) throw new UsageError(`${input.archive}: ${facts.problems.join('; ')}`, 'RD_ARCHIVE_FORMAT');
    if (facts.ignored.length > 0) input.warn?.(`${input.archive}: ${ignoredNote(facts.ignored)}`);
    const undecryptable = facts.decrypt && decryptFailure(facts.decrypt);
    if (undecryptable) throw new UsageError(`${input.archive}: ${undecryptable}`, 'RD_ARCHIVE_KEY');
    const version = input.appVersion ?? askBinary(source);
    if (!version) {
      throw new UsageError(`${input.archive}: Hiveloom archives do not record the version that made them; pass --app-version (the output of \`hiveloom version\` on that host)`, 'RD_NO_VERSION');
    }
    const st = await stat(input.archive);
    return {
      schemaVersion: 1,
      app: { name: 'hiveloom', version },
      archive: {
        file: basename(input.archive),
        format: ARCHIVE_FORMAT,
        sha256: await sha256File(input.archive),
        sizeBytes: st.size,
        createdAt: isoOr(backup.created_at, st.mtime),
      },
      expectations: { counts: facts.counts, fingerprints: facts.fingerprints },
      capture: { tool: 'restore-drill', toolVersion: TOOL_VERSION, capturedAt: new Date().toISOString() },
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Everything about an opened archive that makes it undrillable, one sentence each. */
export function archiveProblems(a: OpenedArchive): string[] {
  const out = a.refused.map(refusal);
  out.push(...a.layout);
  if (out.length > 0) return out;
  if (!a.masterKey) out.push('it holds no data/master.key: after a restore no credential could be decrypted (master key missing after restore)');
  else if (a.masterKey.length !== 32) out.push(`data/master.key is ${a.masterKey.length} bytes; Hiveloom needs exactly 32`);
  for (const d of a.databases) {
    for (const p of d.walProblems) out.push(`data/${d.file}-wal is inconsistent with data/${d.file}: ${p}`);
    if (d.integrity.length > 0) out.push(`data/${d.file} fails PRAGMA integrity_check: ${d.integrity.slice(0, 3).join('; ')}`);
  }
  return out;
}

/** `hiveloom version` of the supplied binary, run on this host (it is a Linux binary). */
function askBinary(source: HiveloomBinarySource): string | undefined {
  const bin = source.binary('');
  if (!bin) return undefined;
  const r = spawnSync(bin, ['version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return r.status === 0 ? parseVersion(r.stdout) : undefined;
}

function isoOr(text: string, fallback: Date): string {
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? fallback.toISOString() : d.toISOString();
}
