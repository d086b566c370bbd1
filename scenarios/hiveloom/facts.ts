import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { decryptProbe, type DecryptProbeResult, type SealedValue } from '../../harness/checks/aes-gcm.ts';
import { countRows, fingerprintTable, openReadOnly, tableExists, userTables } from '../../harness/checks/sqlite-db.ts';
import { key, storePath, STORE_TABLES_WITH_OWN_KEYS, type BackupJson } from './layout.ts';

export interface TenantRow {
  id: string;
  slug: string;
  name: string;
}

/** What the harness reads itself from a Hiveloom data folder (an unpacked archive or a restored data dir). */
export interface HiveloomFacts {
  /** The tenants the data is about: every row of platform.db, or the archive's one tenant. */
  tenants: TenantRow[];
  counts: Record<string, number>;
  fingerprints: Record<string, string>;
  /** Tenant slugs without a store file: tenants nobody has used yet (Hiveloom creates a store at first use). */
  missingStores: string[];
  /**
   * Entries under `tenants/` that are no tenant's folder and hold no store.db
   * (an instance archive): Hiveloom ignores them and its restore copies them
   * over unchanged. Never a problem; worth a note to the operator.
   */
  ignored: string[];
  /** Every credential_vault_entries value opened with the key, when a key was given. */
  decrypt?: DecryptProbeResult;
  /** Problems reading (a missing table, an unreadable store). */
  problems: string[];
}

/**
 * Counts and fingerprints from the files themselves, never from Hiveloom's
 * own output: the tenants table (instance archives), and per tenant its
 * current agents (`is_current = 1`, what `agent list` shows) and its
 * credential_vault_entries. Capture and probe both read through here.
 */
export function readFacts(dataRoot: string, backup: BackupJson, masterKey?: Buffer, opts: { strayStores?: boolean } = {}): HiveloomFacts {
  const facts: HiveloomFacts = { tenants: [], counts: {}, fingerprints: {}, missingStores: [], ignored: [], problems: [] };
  if (backup.scope === 'instance') {
    const path = join(dataRoot, 'platform.db');
    if (!existsSync(path)) {
      facts.problems.push('platform.db is missing');
      return facts;
    }
    const db = openReadOnly(path);
    try {
      if (!tableExists(db, 'tenants')) {
        facts.problems.push('platform.db has no tenants table');
        return facts;
      }
      facts.tenants = db.prepare('SELECT id, slug, name FROM tenants ORDER BY id').all() as TenantRow[];
      facts.counts[key.tenants] = facts.tenants.length;
      facts.fingerprints[key.tenants] = fingerprintTable(db, 'tenants');
      // Everything else platform.db holds, each table by count and content.
      for (const t of userTables(db)) {
        if (t === 'tenants') continue;
        facts.counts[key.platformTable(t)] = countRows(db, t);
        facts.fingerprints[key.platformTable(t)] = fingerprintTable(db, t);
      }
    } finally {
      db.close();
    }
  } else {
    const t = backup.tenant!;
    facts.tenants = [{ id: t.id, slug: t.slug, name: t.name }];
  }

  const sealed: SealedValue[] = [];
  for (const t of facts.tenants) {
    const path = join(dataRoot, storePath(t.id));
    if (!existsSync(path)) {
      // Hiveloom 0.2.0 creates a tenant's store at its first use (an agent, a credential,
      // an `agent list`), never at the tenant's creation, and its scheduler opens only the
      // folders that exist: a tenant nobody has used has no store, and its restore gives
      // that tenant zero rows everywhere. Recorded as exactly that: no store file.
      facts.missingStores.push(t.slug);
      facts.counts[key.noStore(t.slug)] = 0;
      facts.counts[key.agents(t.slug)] = 0;
      facts.counts[key.credentials(t.slug)] = 0;
      continue;
    }
    let db: Database.Database | undefined;
    try {
      db = openReadOnly(path);
      for (const table of ['agents', 'credential_vault_entries']) {
        if (!tableExists(db, table)) facts.problems.push(`${storePath(t.id)} (tenant ${t.slug}) has no ${table} table`);
      }
      if (facts.problems.length > 0) continue;
      facts.counts[key.agents(t.slug)] = countRows(db, 'agents', { where: 'tenant_id = ? AND is_current = 1', params: [t.id] });
      facts.fingerprints[key.agents(t.slug)] = fingerprintTable(db, 'agents');
      facts.counts[key.credentials(t.slug)] = countRows(db, 'credential_vault_entries');
      facts.fingerprints[key.credentials(t.slug)] = fingerprintTable(db, 'credential_vault_entries');
      // Every other table of the store: a backup that lost a tenant's schedules must not pass.
      for (const table of userTables(db)) {
        if (table in STORE_TABLES_WITH_OWN_KEYS) continue;
        facts.counts[key.storeTable(table, t.slug)] = countRows(db, table);
        facts.fingerprints[key.storeTable(table, t.slug)] = fingerprintTable(db, table);
      }
      for (const r of db.prepare('SELECT id, name, encrypted_value FROM credential_vault_entries ORDER BY id').iterate() as Iterable<{ id: string; name: string; encrypted_value: unknown }>) {
        const value = Buffer.isBuffer(r.encrypted_value) ? r.encrypted_value : Buffer.alloc(0);
        sealed.push({ id: `${t.slug}/${r.name} (${r.id})`, value });
      }
    } catch (e) {
      facts.problems.push(`${storePath(t.id)} (tenant ${t.slug}) cannot be read: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      db?.close();
    }
  }
  if (masterKey) facts.decrypt = decryptProbe(masterKey, sealed);
  if (backup.scope === 'instance' && opts.strayStores) {
    // A store no tenant row names: data the restored instance would not know it has.
    // Anything else under tenants/ that is no tenant's folder is ignored by Hiveloom.
    const known = new Set(facts.tenants.map((t) => t.id));
    const dir = join(dataRoot, 'tenants');
    for (const id of existsSync(dir) ? readdirSync(dir).sort() : []) {
      if (known.has(id)) continue;
      if (existsSync(join(dataRoot, storePath(id)))) facts.problems.push(`${storePath(id)} has no tenant row in platform.db`);
      else facts.ignored.push(`tenants/${id}`);
    }
  }
  return facts;
}

/**
 * The manifest's word on each tenant's store against the data read (the
 * archive, or the restored data dir), one sentence per disagreement naming the
 * tenant: a store the manifest recorded that the data lacks (lost), and a
 * store the data holds where the manifest recorded none. Tenants the manifest
 * does not name at all are left to the compare stage (their keys are not covered).
 */
export function storeDisagreements(counts: Readonly<Record<string, unknown>>, facts: HiveloomFacts, where: string): string[] {
  const out: string[] = [];
  const storeless = new Set(facts.missingStores);
  for (const t of facts.tenants) {
    if (counts[key.agents(t.slug)] === undefined) continue;
    const recordedNone = counts[key.noStore(t.slug)] === 0;
    const has = !storeless.has(t.slug);
    if (!recordedNone && !has) out.push(`tenant ${t.slug}: the manifest records its store, ${where} holds no ${storePath(t.id)}: the tenant's data was lost`);
    if (recordedNone && has) out.push(`tenant ${t.slug}: the manifest records no store for it (a tenant nobody had used), ${where} holds ${storePath(t.id)}`);
  }
  return out;
}

/** What an operator should know about entries Hiveloom ignores: the archive carries them, the drill does not judge them. */
export function ignoredNote(ignored: string[]): string {
  const named = ignored.slice(0, 5).map((p) => `data/${p}`).join(', ');
  const more = ignored.length > 5 ? ` and ${ignored.length - 5} more` : '';
  return `the archive carries ${named}${more} under data/tenants/ that is no tenant's folder: Hiveloom ignores it and its restore copies it over unchanged; the drill does not judge it`;
}

/** Why credentials do not open with the key, in one sentence, or undefined when they all do. */
export function decryptFailure(d: DecryptProbeResult): string | undefined {
  if (d.failures.length === 0) return undefined;
  const named = d.failures.slice(0, 3).map((f) => f.id).join(', ');
  const more = d.failures.length > 3 ? ', …' : '';
  if (d.failures.length === d.total) {
    return `${d.failures.length} of ${d.total} credentials fail to decrypt - the key does not belong to this data (AES-256-GCM authentication fails for every value; first: ${named}${more})`;
  }
  return `${d.failures.length} of ${d.total} credentials fail to decrypt - those values were damaged or sealed with another key, the other ${d.total - d.failures.length} open (${named}${more})`;
}
