import type { Z4jSessionCheckId } from './check-ids.ts';

/** Why a check that can fail a drill is never required, and the required checks that stand for it. */
export interface NeverRequired {
  why: string;
  /** Required checks (ids, or `prefix.*` for ids made per item) whose pass it cannot be absent beside. */
  covered: string[];
}

/**
 * The z4j check ids that can fail a drill but are not in the contract's
 * required set (contract.ts requiredChecks), each with why its absence from a
 * passing drill is safe: they record only a failure (or a failure found early,
 * at inspect, that a required check judges again later), and the checks
 * listed in `covered` are required and cannot pass when the failure is there.
 * Every other z4j id that can fail is required. test/unit/required-checks.test.ts
 * holds this list to the required set.
 */
export const Z4J_NEVER_REQUIRED: Readonly<Partial<Record<Z4jSessionCheckId, NeverRequired>>> = {
  'inspect.read': { why: 'fails when the archive cannot be read as a z4j database; then no archive fact is read, and compare.app-version is an error without the version the archive records', covered: ['compare.app-version'] },
  'inspect.sqlite-header': { why: 'fails for a file that is not SQLite and stops the drill at inspect; such a file is read no further, so its integrity and its own version are never recorded', covered: ['inspect.integrity', 'compare.app-version'] },
  'inspect.z4j-tables': { why: "fails for a SQLite file without z4j's tables and stops the drill at inspect; no archive fact is read from it, so compare.app-version cannot pass", covered: ['compare.app-version'] },
  'inspect.chain-state': { why: "the archive's chain against its signed state, found early at inspect; the same reading is judged again in the compare stage as compare.chain-state.archive", covered: ['compare.chain-state.archive'] },
  'inspect.chain.*': {
    why: "the archive's chain walked against the manifest's at inspect, failures only (found before z4j's restore could refuse); the restored chain, which is the archive's plus the restore's own row, is compared with the manifest again",
    covered: ['compare.chain.walk', 'compare.chain.start', 'compare.chain.length', 'compare.chain.head'],
  },
  'inspect.secret-key': { why: 'names a secret.env that is not the signer of this chain before anything starts; with that secret no row of the restored chain verifies and its signed state names another key', covered: ['compare.chain.walk', 'compare.chain-state.restored'] },
  'inspect.secrets': { why: 'says secret material is missing at inspect; without the file the recorded secrets file cannot match, without the chain secret in it the restored chain is never walked', covered: ['compare.secrets-file', 'compare.chain.walk'] },
  'inspect.pg-server-recorded': {
    why: 'only where the manifest records the server that made the dump (manifests captured before did not); the dump is pinned by its sha256 anyway, and what it holds is compared after the restore',
    covered: ['integrity.sha256', 'compare.count.*', 'compare.fingerprint.*'],
  },
  'inspect.pg-rows.*': { why: "the dump's own COPY rows against the manifest's counts, failures only, found before a server starts; the restored database's counts are compared again", covered: ['compare.count.*'] },
  'provision.refused': { why: 'says nothing was started after inspect found the dump unrestorable (unreadable table of contents, damaged data, no server for its major), each of which leaves its required inspect check unpassed', covered: ['inspect.pg-toc', 'inspect.pg-data', 'inspect.pg-server', 'restore.z4j-restore'] },
  'provision.secrets': { why: 'says nothing was restored without a secrets file; the recorded secrets file then cannot match and z4j never runs', covered: ['compare.secrets-file', 'provision.secret-env', 'restore.z4j-restore'] },
  'probe.open': { why: 'the restored SQLite database cannot be opened: nothing of it is read, neither its integrity nor its counts', covered: ['probe.integrity', 'compare.count.*'] },
  'probe.read': { why: 'the restored database cannot be read: no restored fact is observed, and every count the manifest records is required', covered: ['compare.count.*'] },
  'probe.connect': { why: 'the harness cannot connect to the restored PostgreSQL database (an error): no restored fact is observed', covered: ['compare.count.*'] },
  'probe.chain': { why: 'says why the restored chain was not walked (no secret, no audit_chain_state); an unwalked chain is never a compare.chain.walk pass', covered: ['compare.chain.walk'] },
  'probe.secret-key': { why: "names the restored chain's signer as another key than the secret's; with that secret no row verifies and the signed state names another key", covered: ['compare.chain.walk', 'compare.chain-state.restored'] },
  'app.status': { why: "z4j status did not run or could not be read (fail or error only); its passes are the per-table counts, each required", covered: ['app.status.*'] },
  'app.status.version': {
    why: "z4j status naming another version than the image installed, failures only (a passing drill records none, test/containers/z4j-versions.test.ts); the version is held by the archive's own record against the manifest, which picks the image, and by the restored revision being that version's head",
    covered: ['compare.app-version', 'app.migration-head'],
  },
};
