import type { ExecOutcome } from '../../harness/runtime/index.ts';
import type { Finding, Observations } from '../../harness/model/types.ts';
import type { Manifest } from '../../harness/manifest/schema.ts';
import { parseAuditVerify, parseCheck, parseMigrationHeads, parseStatus, quote, type CheckOutput, type Parsed } from './parse.ts';
import { MIGRATION_HEADS_FILE } from './image.ts';
import { STATUS_LABELS } from './tables.ts';
import { judgeChainState, type ChainStateObservation } from './chain-state.ts';
import type { RestoredReading } from './judge-restored.ts';
import type { Z4jArchiveReading } from './archive-reading.ts';

/**
 * z4j's own checks after a restore, the same for every backend: `z4j check`,
 * the migration head, `z4j status` counts and `z4j audit verify`. Running them
 * only records what z4j said (a Z4jObservations); judging it against the
 * manifest and the harness's own reading is the compare stage's work.
 */
export type Run = (cmd: string[]) => Promise<ExecOutcome>;

/** What z4j said, plus the one thing the harness read that only z4j's restore explains. */
export interface Z4jObservations extends RestoredReading {
  /** The z4j version that ran the commands (the archive's, or a gate's target). */
  version: string;
  check?: ExecOutcome;
  /** The image's recorded migration head(s) (`cat` of the file written at image build). */
  migrationHeads?: ExecOutcome;
  status?: ExecOutcome;
  auditVerify?: ExecOutcome;
  /** Audit rows this drill's restore appended to the chain (read by the harness; set aside from the backup's). */
  restoreRows?: Array<{ metadata: string }>;
  /** Rows in the restored chain as the harness walked it, the restore's own included (what z4j verifies). */
  walkedRows?: number;
  /** Each database's chain against z4j's authenticated chain state (where the backend's session reads it). */
  chainStates?: {
    /** Whether this backend reads the archive's own state at inspect (SQLite does; a dump is not read that deep). */
    archiveExpected: boolean;
    archive?: ChainStateObservation;
    restored?: ChainStateObservation;
  };
}

/** The z4j profile's observation types (harness StageObservations): what its session returns, what its contract reads. */
export interface Z4jObservationTypes {
  inspect: Z4jArchiveReading;
  probe: Z4jObservations;
}

export async function runAppChecks(run: Run, version: string): Promise<Z4jObservations> {
  return {
    version,
    check: await run(['z4j', 'check']),
    migrationHeads: await run(['cat', MIGRATION_HEADS_FILE]),
    status: await run(['z4j', 'status']),
    auditVerify: await run(['z4j', 'audit', 'verify']),
  };
}

/** The profile's part of the one comparison: z4j's own word, and its restore row, against the manifest and the harness's reading. */
export function judgeApp(manifest: Manifest, obs: Observations<Z4jObservationTypes>, when: 'restore' | 'upgrade' = 'restore'): Finding[] {
  const said = obs.profile;
  if (!said) return [{ id: 'app.check', status: 'error', reason: "z4j's own checks did not run" }];
  // z4j check's output is read once: its rows are judged, and its revision is held against the head.
  const check = said.check && said.check.exitCode === 0 ? parseCheck(said.check.stdout) : undefined;
  return [
    ...judgeCheck(said.check, check),
    ...judgeMigrationHead(said.migrationHeads, said.version, obs.restored?.schemaRevision, check?.ok ? check.value.revision : undefined),
    ...judgeStatus(said.status, manifest, said.restoreRows?.length ?? 0, said.version),
    ...judgeAuditVerify(said.auditVerify, said.walkedRows),
    ...(said.chainStates
      ? [...(when === 'restore' && said.chainStates.archiveExpected ? judgeChainState('archive', said.chainStates.archive) : []), ...judgeChainState('restored', said.chainStates.restored)]
      : []),
    // The restore row is the restore's record; after a gate's upgrade it was judged already.
    ...(when === 'restore' ? judgeRestoreRows(manifest, said.restoreRows) : []),
  ];
}

/** `parsed`: its output read (only when it exited 0). */
function judgeCheck(r: ExecOutcome | undefined, parsed: Parsed<CheckOutput> | undefined): Finding[] {
  const id = 'app.check';
  if (!r) return [{ id, status: 'error', reason: 'z4j check did not run' }];
  if (r.exitCode !== 0 || !parsed) return [{ id, status: 'fail', reason: `z4j check is not green (exit ${r.exitCode}): ${quote(r.stdout, r.stderr)}` }];
  if (!parsed.ok) return [{ id, status: 'error', reason: `${parsed.error} (exit 0; nothing is passed on output this drill cannot read)` }];
  const { allGreen, rows, revision } = parsed.value;
  if (!allGreen) return [{ id, status: 'error', reason: `z4j check returned 0 without printing "all green.": ${quote(r.stdout, r.stderr)}` }];
  // "all green." only says no step raised: each row is read for what it says.
  for (const row of ['config', 'database connectivity']) {
    if (rows[row] !== 'OK') return [{ id, status: 'fail', reason: `z4j check printed "all green." but its ${row} row reads ${JSON.stringify(rows[row] ?? 'missing')}` }];
  }
  if (!revision) return [{ id, status: 'fail', reason: `z4j check printed "all green" but the database has no migration revision: alembic version ${rows['alembic version']?.split('\n')[0] ?? 'row missing'}` }];
  return [{ id, status: 'pass', reason: `z4j check: all green, alembic at ${revision}` }];
}

/**
 * The restored revision against this z4j build's migration head (recorded in
 * the image at build time from the alembic scripts z4j ships), as the harness
 * read it from alembic_version and as `z4j check` read it.
 */
function judgeMigrationHead(r: ExecOutcome | undefined, version: string, read: string | undefined, zCheck: string | undefined): Finding[] {
  const id = 'app.migration-head';
  if (!r) return [{ id, status: 'error', reason: "this z4j image's migration head was not read" }];
  const heads = parseMigrationHeads(r.stdout);
  if (r.exitCode !== 0 || !heads.ok) return [{ id, status: 'error', reason: `the image records no readable migration head for z4j ${version} (exit ${r.exitCode}): ${heads.ok ? quote(r.stdout, r.stderr) : heads.error}` }];
  if (heads.value.length !== 1) return [{ id, status: 'error', reason: `z4j ${version} has ${heads.value.length} migration heads (${heads.value.join(', ')}): which one a database must be at is not defined` }];
  const head = heads.value[0]!;
  if (read === undefined) return [{ id, status: 'fail', reason: `the restored database has no migration revision (alembic_version); z4j ${version}'s head is ${head}`, expected: head }];
  if (read !== head) return [{ id, status: 'fail', reason: `restored revision ${read} is not z4j ${version}'s migration head ${head}`, expected: head, observed: read }];
  if (zCheck !== undefined && zCheck !== read) {
    return [{ id, status: 'fail', reason: `z4j check says the database is at ${zCheck}, the harness read ${read} from the restored alembic_version`, expected: read, observed: zCheck }];
  }
  return [{ id, status: 'pass', reason: `restored revision ${read} is z4j ${version}'s migration head` }];
}

/** z4j's own counts against the manifest (its audit count includes the restore's own rows). */
function judgeStatus(r: ExecOutcome | undefined, manifest: Manifest, appendedRows: number, version: string): Finding[] {
  if (!r) return [{ id: 'app.status', status: 'error', reason: 'z4j status did not run' }];
  if (r.exitCode !== 0) return [{ id: 'app.status', status: 'fail', reason: `z4j status failed (exit ${r.exitCode}): ${quote(r.stdout, r.stderr)}` }];
  const parsed = parseStatus(r.stdout);
  if (!parsed.ok) return [{ id: 'app.status', status: 'error', reason: parsed.error }];
  const { counts, version: reported } = parsed.value;
  const out: Finding[] = [];
  if (reported !== version) out.push({ id: 'app.status.version', status: 'fail', reason: `z4j status reports version ${reported ?? '(none)'}, the drill installed ${version}`, expected: version, observed: reported });
  for (const [label, table] of Object.entries(STATUS_LABELS)) {
    const id = `app.status.${table}`;
    const v = counts[label];
    if (v === undefined || v === 'n/a') {
      out.push({ id, status: 'fail', reason: `z4j status could not count ${label} (${v ?? 'row missing'})` });
      continue;
    }
    const expected = manifest.expectations.counts[table];
    const seen = table === 'audit_log' ? v - appendedRows : v;
    if (typeof expected !== 'number') out.push({ id, status: 'error', reason: `the manifest records no exact count of ${table} to hold z4j status's ${seen} against` });
    else if (seen === expected) out.push({ id, status: 'pass', reason: `z4j status: ${table} ${seen}` });
    else out.push({ id, status: 'fail', reason: `z4j status: ${table} expected ${expected}, observed ${seen}`, expected, observed: seen });
  }
  return out;
}

function judgeAuditVerify(r: ExecOutcome | undefined, walkedRows: number | undefined): Finding[] {
  const id = 'app.audit-verify';
  if (!r) return [{ id, status: 'error', reason: 'z4j audit verify did not run' }];
  const parsed = parseAuditVerify(r.stdout);
  if (r.exitCode !== 0) return [{ id, status: 'fail', reason: `z4j audit verify failed (exit ${r.exitCode}): ${quote(r.stdout, r.stderr, 6)}` }];
  if (!parsed.ok) return [{ id, status: 'error', reason: `${parsed.error} (exit 0; nothing is passed on output this drill cannot read)` }];
  const said = parsed.value;
  if (said.mismatches > 0) return [{ id, status: 'fail', reason: `z4j audit verify found ${said.mismatches} mismatches (exit 0): ${said.problems.slice(0, 3).join(' | ')}` }];
  if (said.mode === 'legacy') return [{ id, status: 'fail', reason: `z4j audit verify checked ${said.verified} rows without the authenticated chain (no audit-chain secret in the restored install): the chain state was not verified` }];
  const out: Finding[] = [{ id, status: 'pass', reason: `z4j audit verify: ${said.verified} active rows verified, ${said.frozen ?? 0} frozen rows assessed` }];
  // z4j's own count against the harness's own walk of the same restored chain.
  const rows = `${id}.rows`;
  if (walkedRows === undefined) out.push({ id: rows, status: 'error', reason: `z4j verified ${said.verified} rows, but the harness did not walk the restored chain to compare` });
  else if (walkedRows === said.verified) out.push({ id: rows, status: 'pass', reason: `z4j verified ${said.verified} rows, as many as the harness walked`, expected: walkedRows, observed: said.verified });
  else out.push({ id: rows, status: 'fail', reason: `z4j audit verify says it verified ${said.verified} rows, the harness walked ${walkedRows} in the restored chain`, expected: walkedRows, observed: said.verified });
  return out;
}

/** z4j's restore signs an audit row of its own; it must name this archive. */
function judgeRestoreRows(manifest: Manifest, appended: Array<{ metadata: string }> | undefined): Finding[] {
  const id = 'app.restore-audit-row';
  if (!appended || appended.length === 0) return [{ id, status: 'fail', reason: `z4j's restore appended no audit.database_restored row naming this archive: the restore was not recorded in the audit chain` }];
  return appended.map((row) => {
    let digest: unknown;
    try {
      digest = (JSON.parse(row.metadata) as { source_stage_digest?: unknown }).source_stage_digest;
    } catch {
      digest = undefined;
    }
    return digest === manifest.archive.sha256
      ? { id, status: 'pass' as const, reason: "z4j recorded the restore in its audit chain with this archive's sha256" }
      : { id, status: 'fail' as const, reason: `z4j's restore audit row names source digest ${String(digest)}, not this archive's sha256`, expected: manifest.archive.sha256, observed: digest };
  });
}
