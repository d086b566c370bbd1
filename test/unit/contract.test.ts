import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseManifest } from '../../harness/manifest/load.ts';
import type { Manifest } from '../../harness/manifest/schema.ts';
import { compareAll } from '../../harness/verdict/compare.ts';
import { conclude, requiredChecks } from '../../harness/verdict/index.ts';
import { SecretBag } from '../../harness/model/secrets.ts';
import type { CheckResult, DataFacts, Observations, StageTiming } from '../../harness/model/types.ts';
import type { Contract } from '../../harness/verdict/index.ts';
import type { Profile } from '../../harness/profile.ts';
import { z4jProfile } from '../../scenarios/z4j/index.ts';
import { createHiveloomProfile } from '../../scenarios/hiveloom/index.ts';
import { captureHiveloom } from '../../scenarios/hiveloom/capture.ts';
import { createBackup } from '../fixtures/hiveloom-standin/src/backup.ts';
import { now, openPlatform, openTenantStore, openVault, seal } from '../fixtures/hiveloom-standin/src/store.ts';
import { readSecretsFile } from '../../harness/files/secrets-file.ts';

/**
 * The contract, property-style, over real captured manifests: a z4j manifest
 * captured from a real z4j 1.13.0 backup (the demo's), and a Hiveloom manifest
 * captured from a stand-in archive. The drill is simulated from the compare
 * stage on: every other stage's required check passes, and the observations
 * either match the manifest or carry one kind of damage.
 */

const STAGES: StageTiming[] = (['fetch', 'integrity', 'inspect', 'provision', 'restore', 'probe', 'compare'] as const).map((name) => ({ name, status: 'passed', durationMs: 1 }));
const policy = { acceptEmpty: false, acceptDrop: false };

/** The observations of a restore that gave back exactly what the manifest records. */
function faithful(m: Manifest): Observations {
  const c = m.expectations.chain;
  const restored: DataFacts = {
    counts: Object.fromEntries(Object.entries(m.expectations.counts).map(([k, v]) => [k, typeof v === 'number' ? v : v.min])),
    fingerprints: { ...m.expectations.fingerprints },
    ...(m.app.schemaRevision ? { schemaRevision: m.app.schemaRevision } : {}),
    ...(c ? { chain: { table: c.table, length: c.length, headHmac: c.headHmac, firstPrevHmac: c.startsAtGenesis ? null : (c.firstPrevHmac ?? null), verifiedRows: c.length, problems: [], problemCount: 0 } } : {}),
  };
  return {
    archive: { appVersion: m.app.version, counts: {}, fingerprints: {} },
    restored,
    ...(m.secrets?.fileSha256 ? { secretsFileSha256: m.secrets.fileSha256, secretsSource: 'secret.env' } : {}),
    ...(m.secrets?.readSha256 ? { secretsRead: { ok: true as const, names: [...m.secrets.names], sha256: m.secrets.readSha256 } } : {}),
  };
}

/** One kind of damage each: what a drill of a broken backup observes. */
function damages(m: Manifest, contract: Contract = z4jProfile.contract): Array<[string, (o: Observations) => void]> {
  const out: Array<[string, (o: Observations) => void]> = [];
  for (const k of Object.keys(m.expectations.counts)) out.push([`count ${k} off by one`, (o) => void (o.restored!.counts[k]! += 1)]);
  for (const k of Object.keys(m.expectations.fingerprints ?? {})) out.push([`content of ${k} changed`, (o) => void (o.restored!.fingerprints[k] = 'f'.repeat(64))]);
  out.push(['a table the manifest never saw', (o) => void ((o.restored!.counts.stowaway = 1), (o.restored!.fingerprints.stowaway = 'e'.repeat(64)))]);
  out.push(['the restored data was not read at all', (o) => void delete o.restored]);
  if (m.expectations.chain) {
    out.push(['chain head moved', (o) => void (o.restored!.chain!.headHmac = 'd'.repeat(64))]);
    out.push(['chain shorter', (o) => void (o.restored!.chain!.length -= 1)]);
    out.push(['a tampered row', (o) => void ((o.restored!.chain!.problems = [{ kind: 'hmac-mismatch', position: 3, rowId: 'r' }]), (o.restored!.chain!.problemCount = 1))]);
    out.push(['the wrong chain secret', (o) => void (o.restored!.chain!.verifiedRows = 0)]);
    out.push(['oldest rows gone', (o) => void (o.restored!.chain!.firstPrevHmac = 'c'.repeat(64))]);
    out.push(['chain not walked', (o) => void delete o.restored!.chain]);
  }
  if (m.app.schemaRevision) out.push(['another revision', (o) => void (o.restored!.schemaRevision = 'other')]);
  if (m.secrets?.fileSha256) {
    out.push(["another install's secret.env", (o) => void ((o.secretsFileSha256 = '0'.repeat(64)), o.secretsRead?.ok && (o.secretsRead = { ...o.secretsRead, sha256: '1'.repeat(64) }))]);
    out.push(['a secret.env z4j refuses', (o) => void (o.secretsRead = { ok: false, problem: 'z4j refuses it: secret.env contains duplicate key Z4J_SECRET (line 3)' })]);
    out.push(['no secrets file supplied', (o) => void (delete o.secretsFileSha256, delete o.secretsRead)]);
  }
  // Only where the archive records its version (Hiveloom's do not).
  if (contract.archiveRecordsVersion) out.push(['the archive records another version', (o) => void (o.archive!.appVersion = '0.0.1')]);
  return out;
}

/** Every single way a manifest could leave an expectation out or loosen it. */
function loosenings(m: Manifest): Array<[string, (x: Manifest) => void]> {
  const out: Array<[string, (x: Manifest) => void]> = [];
  for (const k of Object.keys(m.expectations.counts)) {
    out.push([`drop count ${k}`, (x) => void delete x.expectations.counts[k]]);
    out.push([`loosen count ${k} to 0..1e9`, (x) => void (x.expectations.counts[k] = { min: 0, max: 1e9 })]);
  }
  for (const k of Object.keys(m.expectations.fingerprints ?? {})) out.push([`drop fingerprint ${k}`, (x) => void delete x.expectations.fingerprints![k]]);
  out.push(['empty counts', (x) => void (x.expectations.counts = {})]);
  out.push(['empty fingerprints', (x) => void (x.expectations.fingerprints = {})]);
  if (m.expectations.chain) {
    out.push(['drop the chain', (x) => void delete x.expectations.chain]);
    out.push(['chain no longer starts at genesis', (x) => void ((x.expectations.chain!.startsAtGenesis = false), delete x.expectations.chain!.firstPrevHmac)]);
    out.push(['chain head null', (x) => void (x.expectations.chain!.headHmac = null)]);
  }
  out.push(['drop the schema revision', (x) => void delete x.app.schemaRevision]);
  out.push(['drop the secrets reference', (x) => void delete x.secrets]);
  if (m.secrets) out.push(['drop the secrets digest', (x) => void delete x.secrets!.fileSha256]);
  if (m.secrets?.readSha256) {
    out.push(['drop the read digest (old manifests: by bytes)', (x) => void delete x.secrets!.readSha256]);
    out.push(['drop both secrets digests', (x) => void (delete x.secrets!.readSha256, delete x.secrets!.fileSha256)]);
  }
  out.push(['accept empty backups', (x) => void (x.policy = { acceptEmpty: true, acceptDrop: true })]);
  return out;
}

/** The verdict a drill reaches from these observations: `usage` when the manifest is refused at plan time. */
function verdict(profile: Profile, m: Manifest, obs: Observations, secrets?: SecretBag): { verdict: string; checks: CheckResult[]; summary: string } {
  if (profile.contract.manifestProblems(m).length > 0) return { verdict: 'usage', checks: [], summary: '' };
  const found = compareAll({ manifest: m, contract: profile.contract, obs, policy: { acceptEmpty: m.policy?.acceptEmpty === true, acceptDrop: m.policy?.acceptDrop === true } });
  const compared = new Set(found.map((f) => f.id));
  // Every other stage's required check ran and passed (the profile's own comparisons included, stubbed here).
  const others = requiredChecks({ profile, manifest: m }, false).filter((id) => !compared.has(id) && (!id.startsWith('compare.') || id.startsWith('compare.chain-state.')));
  const checks: CheckResult[] = [
    ...others.map((id) => ({ id: id.replace(/\*$/, 'x'), stage: 'probe' as const, status: 'pass' as const, reason: 'ran' })),
    ...found.filter((f) => !f.id.startsWith('app.')).map((f) => ({ ...f, stage: 'compare' as const })),
  ];
  return conclude({ profile, manifest: m, secrets }, checks, STAGES, false);
}

/** A profile whose own app checks are taken as passed: the property is about the manifest's expectations. */
const appPasses = (p: Profile): Profile => ({ ...p, contract: { ...p.contract, compareProfile: () => [] } as Contract });

const cases: Array<{ name: string; profile: Profile; manifest: () => Manifest }> = [];
let hiveloomManifest: Manifest;
const z4jManifest = parseManifest(JSON.parse(readFileSync(new URL('./fixtures/manifests/z4j-sqlite-1.13.0.manifest.json', import.meta.url), 'utf8')));
cases.push({ name: 'z4j (real 1.13.0 backup)', profile: appPasses(z4jProfile), manifest: () => z4jManifest });
/** The same manifest as capture writes it now: with the digest of secret.env as z4j reads it. */
const z4jReadManifest: Manifest = { ...z4jManifest, secrets: { ...z4jManifest.secrets!, readSha256: 'a'.repeat(64) } };
cases.push({ name: 'z4j (with the read digest of secret.env)', profile: appPasses(z4jProfile), manifest: () => z4jReadManifest });
cases.push({ name: 'hiveloom (stand-in archive)', profile: appPasses(createHiveloomProfile({ binary: () => undefined })), manifest: () => hiveloomManifest });

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-contract-'));
  const data = join(dir, 'data');
  const platform = openPlatform(data);
  const key = openVault(data);
  for (const slug of ['acme', 'globex']) {
    const id = randomUUID();
    platform.prepare("INSERT INTO tenants (id, name, slug, timezone, status, created_at, updated_at) VALUES (?, ?, ?, 'UTC', 'active', ?, ?)").run(id, slug, slug, now(), now());
    const store = openTenantStore(data, id);
    store.prepare('INSERT INTO agents (id, tenant_id, name, model_id, created_at) VALUES (?, ?, ?, ?, ?)').run(randomUUID(), id, 'a', 'm', now());
    store.prepare("INSERT INTO credential_vault_entries (id, tenant_id, name, kind, encrypted_value, created_at, updated_at) VALUES (?, ?, ?, 'static', ?, ?, ?)").run(randomUUID(), id, 'k', seal(key, Buffer.from('v')), now(), now());
    store.close();
  }
  platform.close();
  const archive = join(dir, 'instance.tar.gz');
  await createBackup(data, archive, null);
  hiveloomManifest = await captureHiveloom({ archive, appVersion: '0.2.0' }, { binary: () => undefined });
});

describe.each(cases)('the contract of $name', ({ profile, manifest }) => {
  it('passes a restore that gave back exactly what the manifest records, and every required check is produced', () => {
    const r = verdict(profile, manifest(), faithful(manifest()));
    expect(r.summary).toMatch(/checks passed/);
    expect(r.verdict).toBe('passed');
  });

  it('fails every kind of damage', () => {
    for (const [what, damage] of damages(manifest(), profile.contract)) {
      const obs = structuredClone(faithful(manifest()));
      damage(obs);
      expect([what, verdict(profile, manifest(), obs).verdict]).not.toEqual([what, 'passed']);
    }
  });

  it('removing or loosening any single expectation never turns a damaged backup into a pass (it is refused or still fails)', () => {
    let refused = 0;
    for (const [loosen, edit] of loosenings(manifest())) {
      const m = structuredClone(manifest());
      edit(m);
      for (const [what, damage] of damages(manifest(), profile.contract)) {
        const obs = structuredClone(faithful(manifest()));
        damage(obs);
        const v = verdict(profile, m, obs).verdict;
        if (v === 'usage') refused++;
        expect([loosen, what, v]).not.toEqual([loosen, what, 'passed']);
      }
    }
    expect(refused).toBeGreaterThan(0);
  });

  it('every required expectation produces a required check', () => {
    const m = manifest();
    const req = requiredChecks({ profile, manifest: m }, false);
    for (const k of Object.keys(m.expectations.counts)) expect(req).toContain(`compare.count.${k}`);
    for (const k of Object.keys(m.expectations.fingerprints ?? {})) expect(req).toContain(`compare.fingerprint.${k}`);
    if (m.expectations.chain) expect(req).toEqual(expect.arrayContaining(['compare.chain.walk', 'compare.chain.head', 'compare.chain.length', 'compare.chain.start']));
  });
});

describe("a gate's post-upgrade checks", () => {
  it('are every count, fingerprint and chain property again, and what the profile requires after an upgrade, not the archive-only ones', () => {
    const req = requiredChecks({ profile: z4jProfile, manifest: z4jManifest }, true);
    for (const k of Object.keys(z4jManifest.expectations.counts)) expect(req).toContain(`upgrade.count.${k}`);
    expect(req).toEqual(expect.arrayContaining(['upgrade.chain.walk', 'upgrade.chain.head', 'upgrade.migrate', 'upgrade.chain-state.restored']));
    expect(req.filter((id) => /^upgrade\.(policy|secrets-file|app-version|chain-state\.archive)/.test(id))).toEqual([]);
  });
});

describe('secrets cannot change a verdict and never appear in a report', () => {
  const tricky = ['status', 'passed', 'reason', 'expected', 'observed', 'compare', 'pass"word\\"x', 'back\\slash\\value', 'quote"in"it', 'users: expected'];
  const dir = mkdtempSync(join(tmpdir(), 'rd-redact-'));
  it.each(tricky)('a secret whose value is %j', (value) => {
    const path = join(dir, 'secret.env');
    writeFileSync(path, `Z4J_AUDIT_CHAIN_SECRET=chain-secret-value\nZ4J_METRICS_AUTH_TOKEN=${value}\n`);
    const secrets = readSecretsFile(path);
    const m = z4jManifest;
    const profile = appPasses(z4jProfile);
    for (const [what, damage] of damages(m)) {
      const obs = structuredClone(faithful(m));
      damage(obs);
      // A reason quoting the secret, as an application's output might.
      obs.restored?.counts && (obs.restored.counts['users'] = (obs.restored.counts['users'] ?? 0));
      const plain = verdict(profile, m, obs);
      const withSecret = verdict(profile, m, obs, secrets);
      expect([what, withSecret.verdict]).toEqual([what, plain.verdict]);
      expect(withSecret.checks.map((c) => [c.id, c.status])).toEqual(plain.checks.map((c) => [c.id, c.status]));
      if (value.length >= 6) expect(JSON.stringify(withSecret.checks.map((c) => [c.reason, c.expected, c.observed])) + withSecret.summary).not.toContain(JSON.stringify(value).slice(1, -1));
    }
    const faithfulRun = verdict(profile, m, faithful(m), secrets);
    expect(faithfulRun.verdict).toBe('passed');
  });
});

describe('count bounds (README: the format allows both ends; a contract may demand exact counts)', () => {
  it('the manifest format takes a bound with both ends and refuses one with one end', () => {
    const m = structuredClone(z4jManifest) as unknown as { expectations: { counts: Record<string, unknown> } };
    m.expectations.counts.users = { min: 1, max: 9 };
    expect(parseManifest(m).expectations.counts.users).toEqual({ min: 1, max: 9 });
    m.expectations.counts.users = { min: 0 };
    expect(() => parseManifest(m)).toThrow();
  });

  it("z4j's contract refuses a bound on a table it counts, saying why, and the drill of such a manifest never starts", () => {
    const m = structuredClone(z4jManifest);
    m.expectations.counts.users = { min: 1, max: 9 };
    expect(z4jProfile.contract.manifestProblems(m)).toEqual([
      "$.expectations.counts.users: an exact row count is required (z4j's tables carry an exact content fingerprint, so a count that may move between bounds would fail on it anyway)",
    ]);
  });
});
