import { createHmac } from 'node:crypto';
import type Database from 'better-sqlite3';
import { pythonCanonicalJson } from '../../harness/checks/python-json.ts';
import type { ChainObservation, Finding } from '../../harness/model/types.ts';
import { chainKey, utcIsoMicros, uuid } from './audit-chain.ts';

/**
 * z4j's authenticated description of both ends of its audit chain
 * (`audit_chain_state`, z4j >= 1.8): head row, prune boundary, active and
 * frozen row counts, the key id, and `state_mac`, an HMAC over all of it with
 * the audit-chain secret ("z4j/audit-chain/state/v1\0" + canonical JSON, as
 * the installed z4j_brain computes it). A walk alone cannot see rows deleted
 * from either end, or rows moved out of the chain by marking them
 * legacy-frozen: held against this state, it can.
 */
export interface ChainStateRow {
  format_version: number;
  generation: string;
  installation_id: string;
  state_key_id: string;
  head_row_hmac: string | null;
  head_hmac_key_id: string | null;
  head_occurred_at: string | null;
  head_id: string | null;
  prune_row_hmac: string | null;
  prune_hmac_key_id: string | null;
  prune_occurred_at: string | null;
  prune_id: string | null;
  active_row_count: number;
  active_key_counts: string;
  frozen_row_count: number;
  frozen_snapshot_digest: string | null;
  retired_recovery_binding: string | null;
  state_mac: string;
}

/** What the harness read of one database's chain, to hold against its authenticated state. */
export interface ChainStateObservation {
  state?: ChainStateRow;
  chain?: Pick<ChainObservation, 'length' | 'headHmac' | 'firstPrevHmac'>;
  /** Id of the newest row of the active chain (dashed). */
  headId?: string | null;
  /** Rows marked legacy_frozen. */
  frozenRows?: number;
  /** Key id of the secret supplied (the secret itself never leaves the session). */
  secretKeyId?: string;
  /** Whether state_mac verified with that secret, or why it could not be computed. */
  mac?: 'verified' | 'mismatch' | { unreadable: string };
}

/** Reads a database's chain state and its ends, and checks its MAC with the secret: the session's part. */
export function observeChainState(db: Database.Database, secret: string | undefined, chain: ChainStateObservation['chain']): ChainStateObservation {
  const state = readChainStateRow(db);
  if (!state) return {};
  return authenticated({ state, ...readChainEnds(db, state.generation), ...(chain ? { chain } : {}) }, secret);
}

/** Adds the secret's key id and whether the state's MAC verifies with it (the secret itself goes no further). */
export function authenticated(o: ChainStateObservation & { state: ChainStateRow }, secret: string | undefined): ChainStateObservation {
  if (!secret) return o;
  const mac = (() => {
    try {
      return stateMac(secret, o.state) === o.state.state_mac ? ('verified' as const) : ('mismatch' as const);
    } catch (e) {
      return { unreadable: (e as Error).message };
    }
  })();
  return { ...o, secretKeyId: chainKey(secret).id, mac };
}

export function readChainStateRow(db: Database.Database): ChainStateRow | undefined {
  if (!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_chain_state'").get()) return undefined;
  return db.prepare('SELECT * FROM audit_chain_state').get() as ChainStateRow | undefined;
}

/** The newest active row's id and the number of frozen rows, read beside the walk. */
export function readChainEnds(db: Database.Database, generation: string): Pick<ChainStateObservation, 'headId' | 'frozenRows'> {
  const head = db.prepare('SELECT id FROM audit_log WHERE legacy_frozen = 0 AND chain_generation = ? ORDER BY occurred_at DESC, id DESC LIMIT 1').get(generation) as { id: string } | undefined;
  const frozen = (db.prepare('SELECT count(*) AS n FROM audit_log WHERE legacy_frozen != 0').get() as { n: number }).n;
  return { headId: head ? uuid(head.id) : null, frozenRows: frozen };
}

const STATE_MAC_DOMAIN = 'z4j/audit-chain/state/v1\0';

function json(text: string | null): unknown {
  return text === null ? null : (JSON.parse(text) as unknown);
}

/** The state's MAC as z4j computes it, from the row as SQLite stores it. */
export function stateMac(secret: string, r: ChainStateRow): string {
  const ts = (v: string | null) => (v === null ? null : utcIsoMicros(v));
  const binding = json(r.retired_recovery_binding) as Record<string, unknown> | null;
  const payload = {
    format_version: r.format_version,
    generation: uuid(r.generation),
    installation_id: uuid(r.installation_id),
    state_key_id: r.state_key_id,
    head_row_hmac: r.head_row_hmac,
    head_hmac_key_id: r.head_hmac_key_id,
    head_occurred_at: ts(r.head_occurred_at),
    head_id: uuid(r.head_id),
    prune_row_hmac: r.prune_row_hmac,
    prune_hmac_key_id: r.prune_hmac_key_id,
    prune_occurred_at: ts(r.prune_occurred_at),
    prune_id: uuid(r.prune_id),
    active_row_count: r.active_row_count,
    active_key_counts: json(r.active_key_counts),
    frozen_row_count: r.frozen_row_count,
    frozen_snapshot_digest: r.frozen_snapshot_digest,
    retired_recovery_binding: binding,
  };
  const text = pythonCanonicalJson(JSON.stringify(payload));
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(STATE_MAC_DOMAIN + text).digest('hex');
}

/**
 * The chain as walked against z4j's authenticated state of it. `where` names
 * the database ("archive", "restored") in ids and reasons.
 */
export function judgeChainState(where: 'archive' | 'restored', o: ChainStateObservation | undefined): Finding[] {
  const id = `compare.chain-state.${where}`;
  const s = o?.state;
  if (!o) return [{ id, status: 'error', reason: `the ${where} audit_chain_state was not read (see the findings before this one)` }];
  if (!s) return [{ id, status: 'fail', reason: `the ${where} database has no audit_chain_state: both ends of its audit chain are unauthenticated` }];
  if (!o.secretKeyId || !o.mac) return [{ id, status: 'error', reason: `the ${where} audit_chain_state cannot be authenticated without Z4J_AUDIT_CHAIN_SECRET` }];
  if (s.state_key_id !== o.secretKeyId) {
    return [{ id, status: 'fail', reason: `the ${where} audit_chain_state was signed with key id ${s.state_key_id.slice(0, 12)}…, the secret supplied has key id ${o.secretKeyId.slice(0, 12)}…: not the secret of the install that made this backup`, expected: s.state_key_id, observed: o.secretKeyId }];
  }
  if (typeof o.mac === 'object') return [{ id, status: 'fail', reason: `the ${where} audit_chain_state cannot be read as z4j writes it: ${o.mac.unreadable}` }];
  if (o.mac === 'mismatch') return [{ id, status: 'fail', reason: `the ${where} audit_chain_state's MAC does not verify: the recorded ends and counts of the chain were changed after z4j signed them` }];
  const c = o.chain;
  if (!c) return [{ id, status: 'error', reason: `the ${where} audit chain was not walked, so it cannot be held against its authenticated state` }];
  const problems: string[] = [];
  if (c.length !== s.active_row_count) problems.push(`the chain has ${c.length} active rows, its signed state says ${s.active_row_count} (rows deleted, added or moved out of the chain)`);
  if (c.headHmac !== s.head_row_hmac) problems.push(`its newest row is ${short(c.headHmac)}, the signed head is ${short(s.head_row_hmac)} (newest rows deleted or added)`);
  if (o.headId !== undefined && o.headId !== uuid(s.head_id)) problems.push(`its newest row's id is ${o.headId}, the signed head's is ${uuid(s.head_id)}`);
  if (c.firstPrevHmac !== s.prune_row_hmac) {
    problems.push(
      s.prune_row_hmac === null
        ? `its first row links to ${short(c.firstPrevHmac)} but the signed state records no prune: oldest rows were deleted without z4j's signed prune`
        : `its first row links to ${short(c.firstPrevHmac)}, the signed prune boundary is ${short(s.prune_row_hmac)}`,
    );
  }
  if (o.frozenRows !== undefined && o.frozenRows !== s.frozen_row_count) problems.push(`${o.frozenRows} rows are marked legacy-frozen, the signed state says ${s.frozen_row_count}`);
  if (problems.length > 0) return [{ id, status: 'fail', reason: `${where} audit chain against its signed state: ${problems.join('; ')}` }];
  return [{ id, status: 'pass', reason: `the ${where} audit chain matches its signed state (MAC verified): ${s.active_row_count} active rows, head and ${s.prune_row_hmac ? 'prune boundary' : 'genesis'} as signed` }];
}

function short(h: string | null | undefined): string {
  return h == null ? 'nothing' : `${h.slice(0, 12)}…`;
}
