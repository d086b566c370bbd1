import { z } from 'zod';
import type { Manifest } from '../../harness/manifest/schema.ts';

/** Hiveloom's data dir in its image (its default on a server); set explicitly on every command. */
export const DATA_DIR = '/var/lib/hiveloom';
/** Where the drill puts the archive and the server's logs inside the container (not in the data dir). */
export const DRILL_DIR = '/var/lib/restore-drill';
export const PORT = 3000;
export const ARCHIVE_FORMAT = 'hiveloom-tar.gz';
export const HIVELOOM_PINNED_VERSION = '0.2.0';

/** `backup.json`, the archive's first entry (Hiveloom 0.2.0): no version, no checksums. */
export const BackupTenant = z
  .object({
    id: z.string().min(1),
    name: z.string(),
    slug: z.string().min(1),
    timezone: z.string().optional(),
    status: z.string().optional(),
  })
  .loose();

export const BackupJson = z
  .object({
    id: z.string().min(1),
    created_at: z.string().min(1),
    scope: z.enum(['instance', 'tenant']),
    tenant: BackupTenant.nullable(),
  })
  .loose()
  .refine((b) => (b.scope === 'tenant') === (b.tenant !== null), 'a tenant-scope archive names its tenant, an instance archive none');
export type BackupJson = z.infer<typeof BackupJson>;

/** Count and fingerprint keys: one per tenant, named by slug (unique in Hiveloom). */
export const key = {
  tenants: 'tenants',
  agents: (slug: string) => `agents[${slug}]`,
  credentials: (slug: string) => `credentials[${slug}]`,
  /**
   * Recorded only for a tenant without a store file (never used), always 0:
   * the restore must give that tenant no store either. A tenant with a store
   * has its tables' keys instead (so manifests captured before this key stay valid).
   */
  noStore: (slug: string) => `store.db[${slug}]`,
  /** Any other table of a tenant's store (schedules, capabilities, conversations, memory...). */
  storeTable: (table: string, slug: string) => `${table}[${slug}]`,
  /** Any other table of platform.db. */
  platformTable: (table: string) => `platform.${table}`,
};

/** Store tables with keys of their own above (agents counts current versions, as `agent list` does). */
export const STORE_TABLES_WITH_OWN_KEYS: Record<string, (slug: string) => string> = {
  agents: key.agents,
  credential_vault_entries: key.credentials,
};

/** `tenants/<uuid>/store.db` relative to the data dir. */
export function storePath(tenantId: string): string {
  return `tenants/${tenantId}/store.db`;
}

/** The tenant a fresh Hiveloom server creates at its first start. */
export const FRESH_SERVER_TENANT = 'default';

/**
 * Why a tenant-scope archive of the tenant every fresh server creates for
 * itself cannot be restored on a fresh host: its tenant row carries another
 * id with the same unique slug, and Hiveloom's restore stops on that.
 */
export function defaultTenantScopeReason(slug: string): string {
  return (
    `this is a tenant-scope archive of the "${slug}" tenant, which every fresh Hiveloom server creates for itself at its first start: ` +
    `restoring it on a fresh host collides with that tenant (same slug, another id) and Hiveloom refuses. ` +
    'Take an instance-scope backup (hiveloom backup create without --tenant) to be able to rebuild this host'
  );
}

/** Tenant slugs the manifest records per-tenant expectations for (from its agents[slug] keys). */
export function manifestTenants(m: Manifest): string[] {
  return Object.keys(m.expectations.counts)
    .map((k) => /^agents\[(.+)\]$/.exec(k)?.[1])
    .filter((s): s is string => s !== undefined);
}
