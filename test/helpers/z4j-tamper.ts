import Database from 'better-sqlite3';

/**
 * Changes a z4j SQLite backup the way an attacker or a faulty tool would,
 * past z4j's append-only triggers (they call a z4j_audit_guard() function that
 * only z4j registers; here it lets everything through).
 */
function open(path: string): Database.Database {
  const db = new Database(path);
  db.function('z4j_audit_guard', { varargs: true }, () => 1);
  return db;
}

function chainIds(db: Database.Database): string[] {
  return (db.prepare('SELECT id FROM audit_log WHERE legacy_frozen = 0 ORDER BY occurred_at, id').all() as Array<{ id: string }>).map((r) => r.id);
}

/** Changes one byte of one audit row's metadata (in the middle of the chain); returns the row id (dashed). */
export function changeOneMetadataByte(path: string): string {
  const db = open(path);
  try {
    const ids = chainIds(db);
    const id = ids[Math.floor(ids.length / 2)]!;
    const { metadata } = db.prepare('SELECT metadata FROM audit_log WHERE id = ?').get(id) as { metadata: string };
    // Flip one character inside the JSON so it stays valid JSON of the same length.
    const at = metadata.search(/[a-z0-9]/);
    const ch = metadata[at]!;
    const changed = metadata.slice(0, at) + (ch === 'a' ? 'b' : 'a') + metadata.slice(at + 1);
    withoutTrigger(db, 'audit_log_boundary_f_no_update', () => db.prepare('UPDATE audit_log SET metadata = ? WHERE id = ?').run(changed, id));
    return dashed(id);
  } finally {
    db.close();
  }
}

/** Deletes the row in the middle of the chain; returns the dashed id of the row after it. */
export function deleteMiddleRow(path: string): { deleted: string; following: string } {
  const db = open(path);
  try {
    const ids = chainIds(db);
    const i = Math.floor(ids.length / 2);
    withoutTrigger(db, 'audit_log_boundary_f_no_delete', () => db.prepare('DELETE FROM audit_log WHERE id = ?').run(ids[i]));
    return { deleted: dashed(ids[i]!), following: dashed(ids[i + 1]!) };
  } finally {
    db.close();
  }
}

function withoutTrigger(db: Database.Database, name: string, fn: () => void): void {
  const row = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?").get(name) as { sql: string } | undefined;
  if (row) db.exec(`DROP TRIGGER ${name}`);
  fn();
  if (row) db.exec(row.sql);
}

function dashed(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Deletes the `n` newest (or oldest) rows of the chain: a walk of what is left still links. */
export function deleteEndRows(path: string, end: 'newest' | 'oldest', n: number): void {
  const db = open(path);
  try {
    const ids = chainIds(db);
    const gone = end === 'newest' ? ids.slice(-n) : ids.slice(0, n);
    withoutTrigger(db, 'audit_log_boundary_f_no_delete', () => {
      for (const id of gone) db.prepare('DELETE FROM audit_log WHERE id = ?').run(id);
    });
  } finally {
    db.close();
  }
}

/** Marks the `n` newest rows legacy-frozen: they leave the active chain without being deleted. */
export function freezeNewestRows(path: string, n: number): void {
  const db = open(path);
  try {
    const gone = chainIds(db).slice(-n);
    withoutTrigger(db, 'audit_log_boundary_f_no_update', () => {
      // The markers z4j's schema demands of a frozen row (its CHECK constraint), as a legacy import would set them.
      const freeze = db.prepare(
        "UPDATE audit_log SET legacy_frozen = 1, chain_generation = NULL, legacy_origin = 'audit-log:preparation-v1', legacy_integrity_class = 'legacy-invalid', hmac_version = 1, hmac_key_id = NULL WHERE id = ?",
      );
      for (const id of gone) freeze.run(id);
    });
  } finally {
    db.close();
  }
}
