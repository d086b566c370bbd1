/**
 * Every check a Hiveloom drill records under a fixed id, as named constants:
 * the contract names the ids it requires through these (a misspelt name is a
 * type error), and test/unit/check-ids.test.ts holds every fixed id written in
 * scenarios/hiveloom/ to this list. Ids made per tenant or per expectation
 * (`app.agent-list.<slug>`, `compare.count.<key>`) are built by the contract.
 */
export const HIVELOOM_CHECK = {
  // Inspect: the archive, read without trusting it.
  inspectIntegrity: 'inspect.integrity',
  inspectRead: 'inspect.read',
  inspectEntries: 'inspect.entries',
  inspectLayout: 'inspect.layout',
  inspectBackupJson: 'inspect.backup-json',
  inspectTenants: 'inspect.tenants',
  inspectTenantStore: 'inspect.tenant-store',
  inspectWal: 'inspect.wal',
  inspectMasterKey: 'inspect.master-key',
  inspectDecrypt: 'inspect.decrypt',
  // Provision and restore: operational facts.
  dataDir: 'provision.data-dir',
  refused: 'provision.refused',
  version: 'provision.version',
  firstStart: 'restore.first-start',
  restore: 'restore.hiveloom-restore',
  restart: 'restore.restart',
  staleSidecar: 'restore.stale-sidecar',
  // Probe: the harness's own reading of the restored data.
  masterKey: 'probe.master-key',
  decrypt: 'probe.decrypt',
  probeIntegrity: 'probe.integrity',
  probeRead: 'probe.read',
  platformDb: 'probe.platform-db',
  tenantStore: 'probe.tenant-store',
  atRest: 'probe.at-rest',
  serveAgain: 'probe.serve',
  // What Hiveloom itself said.
  doctor: 'app.doctor',
  tenantList: 'app.tenant-list',
} as const;

export type HiveloomCheckId = (typeof HIVELOOM_CHECK)[keyof typeof HIVELOOM_CHECK];

/** What the session may record: the listed ids, and one refusal per kind of bad archive entry (`inspect.entry.<problem>`). */
export type HiveloomSessionCheckId = HiveloomCheckId | `inspect.entry.${string}`;
