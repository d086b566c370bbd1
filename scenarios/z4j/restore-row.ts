import { RESTORE_AUDIT_ACTION } from './tables.ts';

export interface TailRow {
  id: string;
  action: string;
  prevRowHmac: string | null;
  metadata: string;
}

/**
 * The audit row this drill's z4j restore appended: the newest row of the
 * chain, if it is a restore row naming this very archive's sha256. A backup
 * taken right after an earlier restore ends with a restore row too, but that
 * one names another archive (no file can hold its own digest), so it stays part
 * of the backup; setting aside every trailing restore row would fail such a
 * backup forever.
 */
export function thisDrillsRestoreRow(newest: TailRow | undefined, archiveSha256: string): TailRow[] {
  if (!newest || newest.action !== RESTORE_AUDIT_ACTION) return [];
  try {
    const digest = (JSON.parse(newest.metadata) as { source_stage_digest?: unknown }).source_stage_digest;
    return digest === archiveSha256 ? [newest] : [];
  } catch {
    return [];
  }
}
