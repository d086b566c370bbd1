import { resolve } from 'node:path';
import { UsageError } from '../../harness/errors.ts';
import type { SecretBag } from '../../harness/model/secrets.ts';
import type { ChainObservation } from '../../harness/model/types.ts';
import type { Manifest } from '../../harness/manifest/schema.ts';
import { readZ4jSecrets } from './secret-env.ts';

/** What every z4j backup, SQLite or PostgreSQL, is expected to give back. */
export function z4jExpectations(
  facts: { counts: Record<string, number>; fingerprints: Record<string, string> },
  chain: Pick<ChainObservation, 'length' | 'headHmac' | 'firstPrevHmac'>,
): Manifest['expectations'] {
  return {
    counts: facts.counts,
    chain: {
      table: 'audit_log',
      length: chain.length,
      headHmac: chain.headHmac,
      startsAtGenesis: chain.firstPrevHmac === null,
      ...(chain.firstPrevHmac !== null ? { firstPrevHmac: chain.firstPrevHmac } : {}),
    },
    fingerprints: facts.fingerprints,
  };
}

/**
 * Where the drill's secrets live: the file's path, the names z4j reads in it,
 * the digest of its names and values as z4j reads them (what a drill
 * compares) and its bytes' sha256 (information), never a value. A file z4j
 * would refuse, or one without a key a restore needs (Z4J_CLI_NEEDS), is
 * refused now: every drill with it would fail.
 */
export function secretsReference(secrets: SecretBag | undefined): Pick<Manifest, 'secrets'> {
  if (!secrets) return {};
  const read = readZ4jSecrets(secrets);
  if (!read.ok) throw new UsageError(`${secrets.source} cannot be used: ${read.problem}`, 'RD_SECRETS_INVALID');
  return { secrets: { reference: resolve(secrets.source), names: read.names, fileSha256: secrets.fileSha256, readSha256: read.sha256 } };
}

/**
 * The version a manifest records: the one the backup records about itself
 * (z4j_meta). --app-version is for backups that record none; one that
 * disagrees with the backup would send the drill to the wrong image.
 */
export function recordedVersion(input: { archive: string; appVersion?: string }, recorded: string | undefined): string | undefined {
  if (input.appVersion && recorded && input.appVersion !== recorded) {
    throw new UsageError(`${input.archive} records z4j ${recorded} (z4j_meta), but --app-version says ${input.appVersion}: the drill must run the version that made the backup`, 'RD_VERSION_MISMATCH');
  }
  return recorded ?? input.appVersion;
}
