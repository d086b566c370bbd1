import { walkDumpData } from '../../../harness/archive/pg-dump-data.ts';
import { copyColumns, copyFields, DumpFormatError, postgresMajor, readDumpToc, type DumpToc } from '../../../harness/archive/pg-dump.ts';
import { availablePostgresMajors } from '../../../harness/images/postgres.ts';
import type { Finding as AnyFinding } from '../../../harness/model/types.ts';
import type { Manifest } from '../../../harness/manifest/schema.ts';
import { COUNTED_TABLES } from '../tables.ts';
import type { Z4jSessionCheckId } from '../check-ids.ts';
import { drillServerMajor, Z4J_PG_CLIENT_MAJORS } from './image.ts';

type Finding = AnyFinding<Z4jSessionCheckId>;

/** Tables whose data a z4j restore cannot do without: the counted ones, the chain's state, the revision. */
export const REQUIRED_TABLE_DATA = [...COUNTED_TABLES, 'audit_chain_state', 'alembic_version'] as const;

export interface DumpInspection {
  findings: Finding[];
  toc?: DumpToc;
  /** The server major the drill restores into; undefined when none can take this dump. */
  serverMajor?: number;
  /** Rows per table, counted in the dump's own COPY data. */
  rows: Record<string, number>;
  /** The key id audit_chain_state.state_key_id names, read from the dump's own data. */
  chainStateKeyId?: string;
  /** The z4j version the dump's z4j_meta records (schema_version). */
  appVersion?: string;
  /** The alembic revision the dump's alembic_version holds. */
  revision?: string;
  /** True when the file cannot be restored at all (unreadable, truncated, damaged): start nothing. */
  unrestorable: boolean;
}

/**
 * Looks inside a pg_dump custom-format archive without a server and without
 * trusting it: the header and table of contents, the server that made it, the
 * data entries z4j needs, and every data block to the end of the file.
 */
export async function inspectDump(archive: string, manifest?: Manifest): Promise<DumpInspection> {
  const findings: Finding[] = [];
  const rows: Record<string, number> = {};
  let toc: DumpToc;
  try {
    toc = readDumpToc(archive);
  } catch (e) {
    if (!(e instanceof DumpFormatError)) throw e;
    findings.push({ id: 'inspect.pg-toc', status: 'fail', reason: `the archive is not a readable pg_dump custom-format archive: ${e.message}` });
    return { findings, rows, unrestorable: true };
  }
  const h = toc.header;
  findings.push({
    id: 'inspect.pg-toc',
    status: 'pass',
    reason: `pg_dump custom format ${h.formatVersion} (${h.compression}), ${toc.entries.length} TOC entries, made by pg_dump ${h.dumpVersion ?? '?'} from PostgreSQL ${h.serverVersion ?? '?'}`,
  });

  const madeBy = postgresMajor(h.serverVersion);
  const serverMajor = madeBy === undefined ? undefined : drillServerMajor(madeBy);
  if (madeBy === undefined) {
    findings.push({ id: 'inspect.pg-server', status: 'fail', reason: `the dump does not say which PostgreSQL server made it (server version ${JSON.stringify(h.serverVersion)})` });
  } else if (serverMajor === undefined) {
    const have = availablePostgresMajors().filter((m) => Z4J_PG_CLIENT_MAJORS.includes(m));
    findings.push({
      id: 'inspect.pg-server',
      status: 'fail',
      reason: `the dump was made by PostgreSQL ${h.serverVersion}, newer than any server this drill can run (${have.join(', ') || 'none'}): pg_restore cannot restore a newer major's dump; build a PostgreSQL ${madeBy} image to drill it`,
      observed: h.serverVersion,
    });
  } else {
    findings.push({ id: 'inspect.pg-server', status: 'pass', reason: `made by PostgreSQL ${madeBy}; the drill restores into PostgreSQL ${serverMajor}` });
  }
  const recorded = manifest?.archive.database;
  if (recorded && recorded.serverVersion !== h.serverVersion) {
    findings.push({ id: 'inspect.pg-server-recorded', status: 'fail', reason: `the dump says PostgreSQL ${h.serverVersion} made it, the manifest records ${recorded.serverVersion}: not the dump the manifest describes`, expected: recorded.serverVersion, observed: h.serverVersion });
  }

  const dataOf = new Map(toc.entries.filter((e) => e.desc === 'TABLE DATA' && e.namespace === 'public').map((e) => [e.tag, e]));
  const missing = REQUIRED_TABLE_DATA.filter((t) => !dataOf.has(t));
  findings.push(
    missing.length === 0
      ? { id: 'inspect.pg-table-data', status: 'pass', reason: `the table of contents has data entries for ${REQUIRED_TABLE_DATA.join(', ')}` }
      : {
          id: 'inspect.pg-table-data',
          status: 'fail',
          reason: `the dump's table of contents has no data for ${missing.join(', ')} (no TABLE DATA entry): restoring it would leave ${missing.length === 1 ? 'that table' : 'those tables'} empty`,
          observed: missing,
        },
  );

  const stateEntry = dataOf.get('audit_chain_state');
  const metaEntry = dataOf.get('z4j_meta');
  const alembicEntry = dataOf.get('alembic_version');
  const small = [stateEntry, metaEntry, alembicEntry].filter((e) => e !== undefined).map((e) => e.dumpId);
  const walk = await walkDumpData(archive, toc, { keepText: new Set(small) });
  if (walk.problems.length > 0) {
    findings.push({ id: 'inspect.pg-data', status: 'fail', reason: `the dump's data is damaged: ${walk.problems.slice(0, 2).join('; ')}`, observed: walk.problems.slice(0, 20) });
    return { findings, toc, ...(serverMajor !== undefined ? { serverMajor } : {}), rows, unrestorable: true };
  }
  if (!walk.inflated) {
    findings.push({ id: 'inspect.pg-data', status: 'pass', reason: `${walk.blocks.size} data blocks whole to the end of the file (${h.compression} compression not checked here)` });
  } else {
    findings.push({ id: 'inspect.pg-data', status: 'pass', reason: `${walk.blocks.size} data blocks whole to the end of the file, each inflating with a good checksum` });
  }
  for (const t of REQUIRED_TABLE_DATA) {
    const n = walk.blocks.get(dataOf.get(t)?.dumpId ?? -1)?.rows;
    if (n !== undefined) rows[t] = n;
  }
  const text = (e: typeof stateEntry) => (e ? { copyStmt: e.copyStmt, text: walk.blocks.get(e.dumpId)?.text } : undefined);
  const keyId = copyRows(text(stateEntry))[0]?.state_key_id ?? undefined;
  const appVersion = copyRows(text(metaEntry)).find((r) => r.key === 'schema_version')?.value ?? undefined;
  const revision = copyRows(text(alembicEntry))[0]?.version_num ?? undefined;
  return {
    findings,
    toc,
    ...(serverMajor !== undefined ? { serverMajor } : {}),
    ...(keyId ? { chainStateKeyId: keyId } : {}),
    ...(appVersion ? { appVersion } : {}),
    ...(revision ? { revision } : {}),
    rows,
    unrestorable: serverMajor === undefined,
  };
}

/** The rows of a small table's COPY text, by column name. */
function copyRows(data: { copyStmt: string | null; text: string | undefined } | undefined): Array<Record<string, string | null>> {
  if (!data?.text) return [];
  const cols = copyColumns(data.copyStmt);
  const out: Array<Record<string, string | null>> = [];
  for (const line of data.text.split('\n')) {
    if (!line || line === '\\.') break;
    const f = copyFields(line);
    out.push(Object.fromEntries(cols.map((c, i) => [c, f[i] ?? null])));
  }
  return out;
}
