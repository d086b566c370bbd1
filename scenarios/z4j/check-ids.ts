/**
 * Every check a z4j drill records under a fixed id, as named constants: the
 * contract names the ids it requires through these (a misspelt name is a type
 * error), and test/unit/check-ids.test.ts holds every fixed id written in
 * scenarios/z4j/ to this list. Ids made per table (`compare.count.users`,
 * `app.status.tasks`) are built by the contract from the manifest.
 */
export const Z4J_CHECK = {
  // Compared with the manifest (harness/verdict and this profile's contract).
  appVersion: 'compare.app-version',
  schemaRevision: 'compare.schema-revision',
  secretsFile: 'compare.secrets-file',
  chainWalk: 'compare.chain.walk',
  chainStart: 'compare.chain.start',
  chainLength: 'compare.chain.length',
  chainHead: 'compare.chain.head',
  chainStateRestored: 'compare.chain-state.restored',
  chainStateArchive: 'compare.chain-state.archive',
  // Inspect: the archive, read without trusting it.
  inspectIntegrity: 'inspect.integrity',
  inspectRead: 'inspect.read',
  inspectSqliteHeader: 'inspect.sqlite-header',
  inspectTables: 'inspect.z4j-tables',
  inspectChainState: 'inspect.chain-state',
  inspectSecretKey: 'inspect.secret-key',
  inspectSecrets: 'inspect.secrets',
  inspectPgToc: 'inspect.pg-toc',
  inspectPgData: 'inspect.pg-data',
  inspectPgTableData: 'inspect.pg-table-data',
  inspectPgServer: 'inspect.pg-server',
  inspectPgServerRecorded: 'inspect.pg-server-recorded',
  // Provision and restore: operational facts.
  dataDir: 'provision.data-dir',
  refused: 'provision.refused',
  secrets: 'provision.secrets',
  secretEnv: 'provision.secret-env',
  freshInstall: 'provision.fresh-install',
  databaseServer: 'provision.database-server',
  targetDb: 'provision.target-db',
  restore: 'restore.z4j-restore',
  // Probe: the harness's own reading of the restored data.
  probeIntegrity: 'probe.integrity',
  probeForeignKeys: 'probe.foreign-keys',
  probeOpen: 'probe.open',
  probeRead: 'probe.read',
  probeConnect: 'probe.connect',
  probeChain: 'probe.chain',
  probeSecretKey: 'probe.secret-key',
  // What z4j itself said.
  appCheck: 'app.check',
  migrationHead: 'app.migration-head',
  status: 'app.status',
  statusVersion: 'app.status.version',
  auditVerify: 'app.audit-verify',
  auditVerifyRows: 'app.audit-verify.rows',
  restoreAuditRow: 'app.restore-audit-row',
  // A gate's upgrade.
  migrate: 'upgrade.migrate',
  upgradeChainState: 'upgrade.chain-state.restored',
} as const;

export type Z4jCheckId = (typeof Z4J_CHECK)[keyof typeof Z4J_CHECK];

/** What the sessions and contract may record: the listed ids, the dump's row count per table (`inspect.pg-rows.<table>`, judged by the contract at inspect), and the archive's chain as walked (`inspect.chain.<property>`, compareChain's ids at inspect). */
export type Z4jSessionCheckId = Z4jCheckId | `inspect.pg-rows.${string}` | `inspect.chain${string}`;
