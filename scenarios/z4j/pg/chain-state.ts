import type pg from 'pg';
import { authenticated, type ChainStateObservation, type ChainStateRow } from '../chain-state.ts';

/** timestamptz as text ("... .632656+00") in the form the SQLite path reads ("+00:00"). */
function pgTime(v: string | null): string | null {
  return v === null ? null : v.replace(/([+-]\d{2})$/, '$1:00');
}

/**
 * The restored PostgreSQL database's chain against z4j's signed state of it
 * (see ../chain-state.ts), read in the probe's snapshot.
 */
export async function observePgChainState(client: pg.Client, secret: string | undefined, chain: ChainStateObservation['chain']): Promise<ChainStateObservation> {
  const r = await client.query<Record<string, string | null>>(
    `SELECT format_version::text, generation::text, installation_id::text, state_key_id, head_row_hmac, head_hmac_key_id,
            head_occurred_at::text, head_id::text, prune_row_hmac, prune_hmac_key_id, prune_occurred_at::text, prune_id::text,
            active_row_count::text, active_key_counts::text, frozen_row_count::text, frozen_snapshot_digest,
            retired_recovery_binding::text, state_mac
       FROM public.audit_chain_state`,
  );
  const x = r.rows[0];
  if (!x) return {};
  const state: ChainStateRow = {
    format_version: Number(x.format_version),
    generation: x.generation!,
    installation_id: x.installation_id!,
    state_key_id: x.state_key_id!,
    head_row_hmac: x.head_row_hmac ?? null,
    head_hmac_key_id: x.head_hmac_key_id ?? null,
    head_occurred_at: pgTime(x.head_occurred_at ?? null),
    head_id: x.head_id ?? null,
    prune_row_hmac: x.prune_row_hmac ?? null,
    prune_hmac_key_id: x.prune_hmac_key_id ?? null,
    prune_occurred_at: pgTime(x.prune_occurred_at ?? null),
    prune_id: x.prune_id ?? null,
    active_row_count: Number(x.active_row_count),
    active_key_counts: x.active_key_counts ?? '{}',
    frozen_row_count: Number(x.frozen_row_count),
    frozen_snapshot_digest: x.frozen_snapshot_digest ?? null,
    retired_recovery_binding: x.retired_recovery_binding ?? null,
    state_mac: x.state_mac!,
  };
  const head = await client.query<{ id: string }>(
    'SELECT id::text AS id FROM public.audit_log WHERE NOT legacy_frozen AND chain_generation = $1::uuid ORDER BY occurred_at DESC, id DESC LIMIT 1',
    [state.generation],
  );
  const frozen = await client.query<{ n: string }>('SELECT count(*)::text AS n FROM public.audit_log WHERE legacy_frozen');
  return authenticated({ state, headId: head.rows[0]?.id ?? null, frozenRows: Number(frozen.rows[0]!.n), ...(chain ? { chain } : {}) }, secret);
}
