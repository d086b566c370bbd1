import { resolve } from 'node:path';
import type { SecretBag } from '../../harness/drill/secrets.ts';
import type { ChainObservation } from '../../harness/drill/types.ts';
import type { Manifest } from '../../harness/manifest/schema.ts';

/** What every z4j backup, SQLite or PostgreSQL, is expected to give back. */
export function z4jExpectations(
  facts: { counts: Record<string, number>; fingerprints: Record<string, string> },
  chain: Pick<ChainObservation, 'length' | 'headHmac' | 'firstPrevHmac'>,
): Manifest['expectations'] {
  return {
    appChecks: ['z4j check', 'z4j migrate current --check-heads', 'z4j audit verify'],
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

/** Where the drill's secrets live: the file's path, its key names and its sha256, never a value. */
export function secretsReference(secrets: SecretBag | undefined): Pick<Manifest, 'secrets'> {
  return secrets ? { secrets: { reference: resolve(secrets.source), names: secrets.names(), fileSha256: secrets.fileSha256 } } : {};
}
