import { walkDumpData } from '../../../harness/archive/pg-dump-data.ts';
import { copyColumns, copyFields, DumpFormatError, postgresMajor, readDumpToc } from '../../../harness/archive/pg-dump.ts';
import { availablePostgresMajors } from '../../../harness/images/postgres.ts';
import { COUNTED_TABLES } from '../tables.ts';
import { drillServerMajor, Z4J_PG_CLIENT_MAJORS } from './image.ts';

/** Tables whose data a z4j restore cannot do without: the counted ones, the chain's state, the revision. */
export const REQUIRED_TABLE_DATA = [...COUNTED_TABLES, 'audit_chain_state', 'alembic_version'] as const;

/**
 * What a look inside a pg_dump custom-format archive saw, without a server and
 * without trusting it: an observation, judged by the contract (judge-dump.ts).
 */
export interface DumpReading {
  /** Why the header and table of contents cannot be read; nothing else was read then. */
  tocError?: string;
  header?: { formatVersion: string; compression: string; dumpVersion: string | null; serverVersion: string | null; entries: number };
  /** The major of the server that made the dump, where it says. */
  madeBy?: number;
  /** The server major the drill restores into; undefined when none can take this dump. */
  serverMajor?: number;
  /** The PostgreSQL majors this drill can run (images built for z4j's client), to name when none fits. */
  drillable: number[];
  /** Tables of REQUIRED_TABLE_DATA with no TABLE DATA entry in the table of contents. */
  missingData: string[];
  /** What is wrong with the data blocks (truncated, damaged); empty when all are whole. */
  dataProblems: string[];
  /** Data blocks walked, and whether each was inflated (its checksum checked). */
  blocks: number;
  inflated: boolean;
  /** Rows per table, counted in the dump's own COPY data. */
  rows: Record<string, number>;
  /** The key id audit_chain_state.state_key_id names, read from the dump's own data. */
  chainStateKeyId?: string;
  /** The z4j version the dump's z4j_meta records (schema_version). */
  appVersion?: string;
  /** The alembic revision the dump's alembic_version holds. */
  revision?: string;
  /** True when the file cannot be restored at all (unreadable, truncated, damaged, no server for it): start nothing. */
  unrestorable: boolean;
}

/**
 * Looks inside a pg_dump custom-format archive without a server and without
 * trusting it: the header and table of contents, the server that made it, the
 * data entries z4j needs, and every data block to the end of the file.
 */
export async function inspectDump(archive: string): Promise<DumpReading> {
  const rows: Record<string, number> = {};
  const seen: DumpReading = { drillable: [], missingData: [], dataProblems: [], blocks: 0, inflated: false, rows, unrestorable: true };
  let toc;
  try {
    toc = readDumpToc(archive);
  } catch (e) {
    if (!(e instanceof DumpFormatError)) throw e;
    return { ...seen, tocError: e.message };
  }
  const h = toc.header;
  seen.header = { formatVersion: h.formatVersion, compression: h.compression, dumpVersion: h.dumpVersion ?? null, serverVersion: h.serverVersion ?? null, entries: toc.entries.length };
  const madeBy = postgresMajor(h.serverVersion);
  const serverMajor = madeBy === undefined ? undefined : drillServerMajor(madeBy);
  if (madeBy !== undefined) seen.madeBy = madeBy;
  if (serverMajor !== undefined) seen.serverMajor = serverMajor;
  else if (madeBy !== undefined) seen.drillable = availablePostgresMajors().filter((m) => Z4J_PG_CLIENT_MAJORS.includes(m));

  const dataOf = new Map(toc.entries.filter((e) => e.desc === 'TABLE DATA' && e.namespace === 'public').map((e) => [e.tag, e]));
  seen.missingData = REQUIRED_TABLE_DATA.filter((t) => !dataOf.has(t));
  const stateEntry = dataOf.get('audit_chain_state');
  const metaEntry = dataOf.get('z4j_meta');
  const alembicEntry = dataOf.get('alembic_version');
  const small = [stateEntry, metaEntry, alembicEntry].filter((e) => e !== undefined).map((e) => e.dumpId);
  const walk = await walkDumpData(archive, toc, { keepText: new Set(small) });
  seen.blocks = walk.blocks.size;
  seen.inflated = walk.inflated;
  if (walk.problems.length > 0) return { ...seen, dataProblems: walk.problems };
  for (const t of REQUIRED_TABLE_DATA) {
    const n = walk.blocks.get(dataOf.get(t)?.dumpId ?? -1)?.rows;
    if (n !== undefined) rows[t] = n;
  }
  const text = (e: typeof stateEntry) => (e ? { copyStmt: e.copyStmt, text: walk.blocks.get(e.dumpId)?.text } : undefined);
  const keyId = copyRows(text(stateEntry))[0]?.state_key_id ?? undefined;
  const appVersion = copyRows(text(metaEntry)).find((r) => r.key === 'schema_version')?.value ?? undefined;
  const revision = copyRows(text(alembicEntry))[0]?.version_num ?? undefined;
  return {
    ...seen,
    ...(keyId ? { chainStateKeyId: keyId } : {}),
    ...(appVersion ? { appVersion } : {}),
    ...(revision ? { revision } : {}),
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
