import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareAll } from '../../harness/verdict/compare.ts';
import type { Manifest } from '../../harness/manifest/schema.ts';
import type { ExecOutcome } from '../../harness/runtime/index.ts';
import { captureHiveloom } from '../../scenarios/hiveloom/capture.ts';
import { hiveloomContract } from '../../scenarios/hiveloom/contract.ts';
import { readFacts, storeDisagreements, type HiveloomFacts } from '../../scenarios/hiveloom/facts.ts';
import { judgeApp, type HiveloomObservations } from '../../scenarios/hiveloom/app-checks.ts';
import { openArchive } from '../../scenarios/hiveloom/archive.ts';
import { createBackup } from '../fixtures/hiveloom-standin/src/backup.ts';
import { now, openPlatform, openTenantStore, openVault, seal } from '../fixtures/hiveloom-standin/src/store.ts';
import { readEntries, writeEntries } from '../fixtures/hiveloom-standin/tamper.ts';

const noBinary = { binary: () => undefined };
const outcome = (stdout: string): ExecOutcome => ({ command: ['hiveloom'], exitCode: 0, stdout, stderr: '', durationMs: 1 });

/**
 * Tenants nobody has used: Hiveloom 0.2.0 creates a tenant's store at its
 * first use, so such a tenant has none, and the archive is whole. The
 * manifest records "no store" (store.db[slug] = 0, zero agents and
 * credentials), which must never become a way to loosen a check.
 */
describe('Hiveloom tenants without a store (never used)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-hl-stores-'));
  const data = join(dir, 'data');
  const ids: Record<string, string> = {};
  let archive: string;
  /** The same instance after initech's first use: an empty store, as `agent list` makes it. */
  let usedArchive: string;
  /** The instance archive with acme's store gone. */
  let lostArchive: string;

  async function factsOf(path: string): Promise<HiveloomFacts> {
    const a = await openArchive(path, mkdtempSync(join(dir, 'x-')));
    return readFacts(a.dataRoot, a.backup!, a.masterKey, { strayStores: true });
  }

  beforeAll(async () => {
    const platform = openPlatform(data);
    const key = openVault(data);
    for (const slug of ['acme', 'globex', 'initech']) {
      ids[slug] = randomUUID();
      platform.prepare("INSERT INTO tenants (id, name, slug, timezone, status, created_at, updated_at) VALUES (?, ?, ?, 'UTC', 'active', ?, ?)").run(ids[slug], slug, slug, now(), now());
    }
    for (const slug of ['acme', 'globex']) {
      const store = openTenantStore(data, ids[slug]!);
      store.prepare('INSERT INTO agents (id, tenant_id, name, model_id, created_at) VALUES (?, ?, ?, ?, ?)').run(randomUUID(), ids[slug], 'a', 'm', now());
      store.prepare("INSERT INTO credential_vault_entries (id, tenant_id, name, kind, encrypted_value, created_at, updated_at) VALUES (?, ?, 'k', 'static', ?, ?, ?)").run(randomUUID(), ids[slug], seal(key, Buffer.from('v')), now(), now());
      store.close();
    }
    // An operator's notes beside the tenant folders: Hiveloom ignores a name that is not a tenant id.
    mkdirSync(join(data, 'tenants', 'notes'), { recursive: true });
    writeFileSync(join(data, 'tenants', 'notes', 'README.txt'), 'moved acme on 2026-11-02\n');
    archive = join(dir, 'instance.tar.gz');
    await createBackup(data, archive, null);
    lostArchive = join(dir, 'lost.tar.gz');
    await writeEntries((await readEntries(archive)).filter((e) => !e.header.name.startsWith(`data/tenants/${ids.acme}/`)), lostArchive);
    openTenantStore(data, ids.initech!).close();
    usedArchive = join(dir, 'used.tar.gz');
    await createBackup(data, usedArchive, null);
    platform.close();
  });

  it('captures an instance with an unused tenant, recording no store for it and noting the folder Hiveloom ignores', async () => {
    const said: string[] = [];
    const m = await captureHiveloom({ archive, appVersion: '0.2.0', warn: (l) => said.push(l) }, noBinary);
    const initech = Object.entries(m.expectations.counts).filter(([k]) => k.endsWith('[initech]'));
    expect(Object.fromEntries(initech)).toEqual({ 'store.db[initech]': 0, 'agents[initech]': 0, 'credentials[initech]': 0 });
    expect(Object.keys(m.expectations.fingerprints).filter((k) => k.endsWith('[initech]'))).toEqual([]);
    // A tenant with a store is recorded as before: its tables, no store.db key.
    expect(m.expectations.counts['store.db[acme]']).toBeUndefined();
    expect(m.expectations.counts['_migrations[acme]']).toBe(23);
    expect(hiveloomContract.manifestProblems(m)).toEqual([]);
    expect(said).toEqual([expect.stringContaining("the archive carries data/tenants/notes under data/tenants/ that is no tenant's folder: Hiveloom ignores it")]);
  });

  it('names the tenant when the manifest records a store the data lacks, or none where the data has one', async () => {
    const m = await captureHiveloom({ archive, appVersion: '0.2.0' }, noBinary);
    expect(storeDisagreements(m.expectations.counts, await factsOf(archive), 'the archive')).toEqual([]);
    expect(storeDisagreements(m.expectations.counts, await factsOf(lostArchive), 'the archive')).toEqual([
      `tenant acme: the manifest records its store, the archive holds no tenants/${ids.acme}/store.db: the tenant's data was lost`,
    ]);
    expect(storeDisagreements(m.expectations.counts, await factsOf(usedArchive), 'the restored data')).toEqual([
      `tenant initech: the manifest records no store for it (a tenant nobody had used), the restored data holds tenants/${ids.initech}/store.db`,
    ]);
  });

  /** Whether a drill could pass: the manifest accepted, every comparison passing, the probe's store check clean. */
  function passes(m: Manifest, facts: HiveloomFacts): boolean {
    if (hiveloomContract.manifestProblems(m).length > 0) return false;
    const said: HiveloomObservations = {
      backup: { id: 'b', created_at: now(), scope: 'instance', tenant: null },
      doctor: outcome(JSON.stringify([{ check: 'platform.db integrity', pass: true, detail: 'OK' }])),
      tenantList: outcome(JSON.stringify(facts.tenants.map((t) => ({ id: t.id, slug: t.slug, name: t.name })))),
      agentLists: Object.fromEntries(facts.tenants.map((t) => [t.slug, outcome(JSON.stringify(Array.from({ length: facts.counts[`agents[${t.slug}]`] ?? 0 }, (_, i) => ({ id: `a${i}`, name: `a${i}` }))))])),
    };
    const found = compareAll({
      manifest: m,
      contract: hiveloomContract,
      obs: { restored: { counts: facts.counts, fingerprints: facts.fingerprints }, profile: said },
      policy: { acceptEmpty: m.policy?.acceptEmpty === true, acceptDrop: m.policy?.acceptDrop === true },
    });
    return found.every((f) => f.status === 'pass') && storeDisagreements(m.expectations.counts, facts, 'the restored data').length === 0;
  }

  function loosenings(m: Manifest): Array<[string, (x: Manifest) => void]> {
    const out: Array<[string, (x: Manifest) => void]> = [];
    for (const k of Object.keys(m.expectations.counts)) {
      out.push([`drop count ${k}`, (x) => void delete x.expectations.counts[k]]);
      out.push([`loosen count ${k} to 0..1e9`, (x) => void (x.expectations.counts[k] = { min: 0, max: 1e9 })]);
    }
    for (const k of Object.keys(m.expectations.fingerprints)) out.push([`drop fingerprint ${k}`, (x) => void delete x.expectations.fingerprints[k]]);
    for (const slug of ['acme', 'initech']) {
      out.push([`drop every key of ${slug}`, (x) => void Object.keys(x.expectations.counts).filter((k) => k.endsWith(`[${slug}]`)).forEach((k) => delete x.expectations.counts[k])]);
      out.push([`record no store for ${slug}`, (x) => void (x.expectations.counts[`store.db[${slug}]`] = 0)]);
    }
    out.push(['accept empty backups', (x) => void (x.policy = { acceptEmpty: true, acceptDrop: true })]);
    return out;
  }

  it('the faithful cases pass: the archive against its own manifest, the used one against its own', async () => {
    expect(passes(await captureHiveloom({ archive, appVersion: '0.2.0' }, noBinary), await factsOf(archive))).toBe(true);
    expect(passes(await captureHiveloom({ archive: usedArchive, appVersion: '0.2.0' }, noBinary), await factsOf(usedArchive))).toBe(true);
  });

  it('removing or loosening any single expectation never turns a lost store, or a store where none was, into a pass', async () => {
    const cases: Array<[string, Manifest, HiveloomFacts]> = [
      ["acme's store lost", await captureHiveloom({ archive, appVersion: '0.2.0' }, noBinary), await factsOf(lostArchive)],
      ['a store for initech that the backup did not have', await captureHiveloom({ archive, appVersion: '0.2.0' }, noBinary), await factsOf(usedArchive)],
      ['initech recorded with a store, restored without', await captureHiveloom({ archive: usedArchive, appVersion: '0.2.0' }, noBinary), await factsOf(archive)],
    ];
    let tried = 0;
    for (const [what, manifest, facts] of cases) {
      expect([what, passes(manifest, facts)]).toEqual([what, false]);
      for (const [loosen, edit] of loosenings(manifest)) {
        const m = structuredClone(manifest);
        edit(m);
        expect([what, loosen, passes(m, facts)]).toEqual([what, loosen, false]);
        tried++;
      }
    }
    expect(tried).toBeGreaterThan(100);
  });

  it("expects doctor's \"Tenants directory: Not found\" only when no tenant of an instance has a store, as the manifest records", () => {
    const fresh = { expectations: { counts: { tenants: 1, 'store.db[default]': 0, 'agents[default]': 0, 'credentials[default]': 0 }, fingerprints: {} } } as unknown as Manifest;
    const doctor = (extra: object[] = []) =>
      outcome(JSON.stringify([{ check: 'platform.db exists', pass: true, detail: 'Found' }, { check: 'Tenants directory', pass: false, detail: 'Not found' }, ...extra]));
    const judged = (m: Manifest, d: ExecOutcome, scope: 'instance' | 'tenant' = 'instance') =>
      judgeApp(m, {
        profile: {
          backup: { id: 'b', created_at: now(), scope, tenant: scope === 'tenant' ? { id: 'x', name: 'd', slug: 'default' } : null },
          doctor: d,
          agentLists: {},
        } satisfies HiveloomObservations,
      }).filter((f) => f.id === 'app.doctor');
    expect(judged(fresh, doctor())).toEqual([
      { id: 'app.doctor', status: 'pass', reason: expect.stringMatching(/^hiveloom doctor: 1 of 2 checks pass; "Tenants directory: Not found" is how 0\.2\.0's doctor sees an instance none of whose tenants has been used/) },
    ]);
    // Anything else the doctor fails still fails.
    expect(judged(fresh, doctor([{ check: 'platform.db integrity', pass: false, detail: 'Integrity issue' }])).map((f) => [f.status, f.reason])).toEqual([['fail', 'hiveloom doctor: platform.db integrity: Integrity issue']]);
    // A tenant whose store the manifest records, or a tenant-scope archive: the folder must be there.
    const withStore = structuredClone(fresh);
    delete withStore.expectations.counts['store.db[default]'];
    expect(judged(withStore, doctor()).map((f) => f.status)).toEqual(['fail']);
    expect(judged(fresh, doctor(), 'tenant').map((f) => f.status)).toEqual(['fail']);
  });
});
