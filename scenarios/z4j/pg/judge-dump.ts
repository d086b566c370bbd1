import type { Finding as AnyFinding } from '../../../harness/model/types.ts';
import type { Manifest } from '../../../harness/manifest/schema.ts';
import type { Z4jSessionCheckId } from '../check-ids.ts';
import { REQUIRED_TABLE_DATA, type DumpReading } from './inspect.ts';

type Finding = AnyFinding<Z4jSessionCheckId>;

/**
 * The contract's judgement of a pg_dump archive as inspect read it (see
 * inspect.ts), at inspect, before any server starts: its table of contents,
 * the server that made it against the one the manifest records and those the
 * drill can run, the data z4j needs, every data block whole, and the key id
 * the chain's signed state names against the secret supplied (`secretKeyId`).
 */
export function judgeDump(manifest: Pick<Manifest, 'archive'>, d: DumpReading, secretKeyId: string | undefined): Finding[] {
  if (d.tocError !== undefined || !d.header) return [{ id: 'inspect.pg-toc', status: 'fail', reason: `the archive is not a readable pg_dump custom-format archive: ${d.tocError ?? 'no header'}` }];
  const h = d.header;
  const out: Finding[] = [
    {
      id: 'inspect.pg-toc',
      status: 'pass',
      reason: `pg_dump custom format ${h.formatVersion} (${h.compression}), ${h.entries} TOC entries, made by pg_dump ${h.dumpVersion ?? '?'} from PostgreSQL ${h.serverVersion ?? '?'}`,
    },
  ];
  if (d.madeBy === undefined) {
    out.push({ id: 'inspect.pg-server', status: 'fail', reason: `the dump does not say which PostgreSQL server made it (server version ${JSON.stringify(h.serverVersion)})` });
  } else if (d.serverMajor === undefined) {
    out.push({
      id: 'inspect.pg-server',
      status: 'fail',
      reason: `the dump was made by PostgreSQL ${h.serverVersion}, newer than any server this drill can run (${d.drillable.join(', ') || 'none'}): pg_restore cannot restore a newer major's dump; build a PostgreSQL ${d.madeBy} image to drill it`,
      observed: h.serverVersion,
    });
  } else {
    out.push({ id: 'inspect.pg-server', status: 'pass', reason: `made by PostgreSQL ${d.madeBy}; the drill restores into PostgreSQL ${d.serverMajor}` });
  }
  const recorded = manifest.archive.database;
  if (recorded && recorded.serverVersion !== h.serverVersion) {
    out.push({ id: 'inspect.pg-server-recorded', status: 'fail', reason: `the dump says PostgreSQL ${h.serverVersion} made it, the manifest records ${recorded.serverVersion}: not the dump the manifest describes`, expected: recorded.serverVersion, observed: h.serverVersion });
  }
  const missing = d.missingData;
  out.push(
    missing.length === 0
      ? { id: 'inspect.pg-table-data', status: 'pass', reason: `the table of contents has data entries for ${REQUIRED_TABLE_DATA.join(', ')}` }
      : {
          id: 'inspect.pg-table-data',
          status: 'fail',
          reason: `the dump's table of contents has no data for ${missing.join(', ')} (no TABLE DATA entry): restoring it would leave ${missing.length === 1 ? 'that table' : 'those tables'} empty`,
          observed: missing,
        },
  );
  if (d.dataProblems.length > 0) {
    out.push({ id: 'inspect.pg-data', status: 'fail', reason: `the dump's data is damaged: ${d.dataProblems.slice(0, 2).join('; ')}`, observed: d.dataProblems.slice(0, 20) });
    return out;
  }
  out.push({
    id: 'inspect.pg-data',
    status: 'pass',
    reason: d.inflated ? `${d.blocks} data blocks whole to the end of the file, each inflating with a good checksum` : `${d.blocks} data blocks whole to the end of the file (${h.compression} compression not checked here)`,
  });
  // The key id the chain's signed state names, read from the dump itself: a
  // wrong secret.env is named as such before z4j's restore refuses it.
  const signedWith = d.chainStateKeyId;
  if (secretKeyId && signedWith) {
    out.push(
      secretKeyId === signedWith
        ? { id: 'inspect.secret-key', status: 'pass', reason: "the secret's key id is the one the dump's audit chain state was signed with" }
        : {
            id: 'inspect.secret-key',
            status: 'fail',
            reason: `the secret supplied is not the one that signed this audit chain: its key id is ${secretKeyId.slice(0, 12)}…, the dump's chain state was signed with key id ${signedWith.slice(0, 12)}… (the data is not corrupt; find the secret.env of the install that made this backup)`,
            expected: signedWith,
            observed: secretKeyId,
          },
    );
  }
  return out;
}
