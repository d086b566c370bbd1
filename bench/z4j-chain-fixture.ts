import { copyFileSync } from 'node:fs';
import { createHmac, randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { chainKey, readChainState, rowMessage, type AuditRow } from '../scenarios/z4j/audit-chain.ts';

/**
 * Grows a real z4j backup's audit chain to `total` rows for benchmarking the
 * walk: rows are appended after the real head, signed with the install's own
 * chain secret by the same recipe z4j uses (checked against z4j's own rows in
 * the tests). Not a drill fixture: z4j's authenticated state is not updated.
 */
export function growChain(source: string, target: string, secret: string, total: number): { rows: number } {
  copyFileSync(source, target);
  const db = new Database(target);
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.function('z4j_audit_guard', { varargs: true }, () => 1);
  const state = readChainState(db)!;
  const key = chainKey(secret);
  const have = (db.prepare('SELECT count(*) AS n FROM audit_log WHERE legacy_frozen = 0').get() as { n: number }).n;
  const head = db.prepare('SELECT row_hmac, occurred_at FROM audit_log WHERE legacy_frozen = 0 ORDER BY occurred_at DESC, id DESC LIMIT 1').get() as { row_hmac: string; occurred_at: string };
  for (const t of ['audit_log_boundary_f_no_insert']) db.exec(`DROP TRIGGER IF EXISTS ${t}`);
  const insert = db.prepare(
    `INSERT INTO audit_log (id, project_id, user_id, api_key_id, action, target_type, target_id, result, metadata, source_ip, user_agent,
       occurred_at, outcome, event_id, row_hmac, prev_row_hmac, legacy_frozen, hmac_version, hmac_key_id, chain_generation)
     VALUES (@id, NULL, NULL, NULL, @action, @target_type, @target_id, @result, @metadata, @source_ip, NULL,
       @occurred_at, @outcome, @event_id, @row_hmac, @prev_row_hmac, 0, 2, @hmac_key_id, @chain_generation)`,
  );
  let prev = head.row_hmac;
  let t = Date.parse(`${head.occurred_at.replace(' ', 'T')}Z`) + 1000;
  const fill = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      t += 1;
      const row: AuditRow = {
        id: randomBytes(16).toString('hex'),
        action: 'bench.synthetic',
        target_type: 'bench',
        target_id: String(i),
        result: 'success',
        outcome: 'allow',
        event_id: randomBytes(16).toString('hex'),
        user_id: null,
        api_key_id: null,
        project_id: null,
        source_ip: '127.0.0.1',
        user_agent: null,
        metadata: `{"seq": ${i}, "note": "bench", "ratio": 0.5}`,
        occurred_at: new Date(t).toISOString().replace('T', ' ').replace('Z', '') + '000',
        prev_row_hmac: prev,
        row_hmac: '',
        hmac_key_id: key.id,
        hmac_version: 2,
        chain_generation: state.generation,
      };
      row.row_hmac = createHmac('sha256', key.key).update(rowMessage(row)).digest('hex');
      insert.run(row);
      prev = row.row_hmac;
    }
  });
  for (let i = have; i < total; i += 50_000) fill(i, Math.min(total, i + 50_000));
  db.close();
  return { rows: total };
}
