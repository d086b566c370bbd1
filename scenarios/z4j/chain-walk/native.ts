import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ChainKey } from '../../../harness/checks/hmac-chain.ts';
import type { ChainObservation } from '../../../harness/model/types.ts';
import { debug } from '../../../harness/log.ts';
import type { RowidSlice, SliceEnds } from '../audit-chain.ts';
import { END, MESSAGE, type AuditLayout } from './page-walk.ts';
import { InternalError } from '../../../harness/errors.ts';

/**
 * The chain walk's native core (./native, Rust): the page walk of
 * page-walk.ts, same filter, order check, message and links, at several
 * times the rate JavaScript reaches (its HMAC uses precomputed pad states and
 * the CPU's SHA instructions). It is only ever a faster way to a clean slice:
 * it reports a slice clean (every row verified and linked to the one before),
 * in disorder, or neither, and every slice that is not clean is walked again
 * in JavaScript, which then decides and reports what is wrong. Built by
 * scripts/ensure-deps.sh where cargo is installed; where the binary is missing
 * or older than its sources, the walk runs in JavaScript as before.
 */

const CRATE = fileURLToPath(new URL('./native/', import.meta.url));
const BINARY = `${CRATE}target/release/z4j-chain-walk`;

/** What the native walk said of one slice. */
export type NativeSlice =
  | { status: 'clean'; obs: ChainObservation; ends: SliceEnds }
  | { status: 'disorder' }
  | { status: 'other'; why: string };

let found: string | null | undefined;

/**
 * The binary, if built and not older than any of its sources (a stale build
 * is not used: the walk then runs in JavaScript). RESTORE_DRILL_NATIVE_WALK=0
 * turns it off, for measuring the JavaScript walk; it changes speed only.
 */
export function nativeWalker(): string | undefined {
  if (process.env.RESTORE_DRILL_NATIVE_WALK === '0') return undefined;
  if (found === undefined) {
    const built = statSync(BINARY, { throwIfNoEntry: false });
    let newest = Infinity; // sources that cannot be read: the binary cannot be shown current
    try {
      const sources = ['Cargo.toml', 'Cargo.lock', ...readdirSync(`${CRATE}src`).map((f) => `src/${f}`)];
      newest = Math.max(...sources.map((f) => statSync(`${CRATE}${f}`).mtimeMs));
    } catch {}
    found = built && built.mtimeMs >= newest ? BINARY : null;
    if (!found) debug.walk(built ? 'native chain walk older than its sources (or they are missing): walking in JavaScript' : 'native chain walk not built: walking in JavaScript');
  }
  return found ?? undefined;
}

/** The request: the field table is page-walk.ts's MESSAGE, so the signed layout is written down once. Keys travel on stdin only. */
function request(path: string, layout: AuditLayout, generation: string, keys: ChainKey[], slices: RowidSlice[]): string {
  const c = layout.columns;
  return JSON.stringify({
    path,
    rootPage: layout.rootPage,
    width: layout.width,
    fields: MESSAGE.map((f) => ({ prefix: f.prefix.toString('hex'), column: c[f.column], kind: f.kind })),
    end: END.toString('hex'),
    roles: { id: c.id, rowHmac: c.row_hmac, prevHmac: c.prev_row_hmac, keyId: c.hmac_key_id, frozen: c.legacy_frozen, generation: c.chain_generation, occurredAt: c.occurred_at },
    generation,
    keys: keys.map((k) => ({ key: k.key.toString('hex'), id: k.id ?? null })),
    slices: slices.map((s) => ({ lo: s.lo ?? null, hi: s.hi ?? null })),
  });
}

type Reply = { status: 'clean'; length: number; headHmac: string | null; firstPrevHmac: string | null; firstRowId?: string; first?: [string, string]; last?: [string, string] } | { status: 'disorder' } | { status: string; why?: string };

function parse(stdout: string, expected: number): NativeSlice[] {
  const out = (JSON.parse(stdout) as { slices: Reply[] }).slices;
  if (!Array.isArray(out) || out.length !== expected) throw new InternalError('the native walk answered for another number of slices');
  return out.map((r) => {
    if (r.status === 'disorder') return { status: 'disorder' };
    if (r.status !== 'clean' || !('length' in r)) return { status: 'other', why: ('why' in r && r.why) || r.status };
    const obs: ChainObservation = {
      table: 'audit_log', length: r.length, headHmac: r.headHmac, firstPrevHmac: r.firstPrevHmac, verifiedRows: r.length, problems: [], problemCount: 0,
      ...(r.firstRowId ? { firstRowId: r.firstRowId } : {}),
    };
    return { status: 'clean', obs, ends: { ...(r.first ? { first: r.first } : {}), ...(r.last ? { last: r.last } : {}) } };
  });
}

/** Every slice as 'other' (the JavaScript walk takes them all), with why. */
function allOther(n: number, why: string): NativeSlice[] {
  debug.walk('native chain walk: %s', why);
  return Array.from({ length: n }, () => ({ status: 'other', why }));
}

/** The slices walked natively, one thread each, in this thread (for the synchronous walk). */
export function walkNativeSync(bin: string, path: string, layout: AuditLayout, generation: string, keys: ChainKey[], slices: RowidSlice[]): NativeSlice[] {
  const r = spawnSync(bin, [], { input: request(path, layout, generation, keys, slices), encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.error || r.status !== 0) return allOther(slices.length, r.error?.message ?? `exit ${r.status}: ${r.stderr.trim()}`);
  try {
    return parse(r.stdout, slices.length);
  } catch (e) {
    return allOther(slices.length, (e as Error).message);
  }
}

/** The same, without blocking the event loop (other drills of a run go on meanwhile). */
export function walkNative(bin: string, path: string, layout: AuditLayout, generation: string, keys: ChainKey[], slices: RowidSlice[]): Promise<NativeSlice[]> {
  return new Promise((resolve) => {
    const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', (e) => resolve(allOther(slices.length, e.message)));
    child.once('close', (code) => {
      if (code !== 0) return resolve(allOther(slices.length, `exit ${code}: ${stderr.trim()}`));
      try {
        resolve(parse(stdout, slices.length));
      } catch (e) {
        resolve(allOther(slices.length, (e as Error).message));
      }
    });
    child.stdin.on('error', () => {}); // a child that died early is reported by 'close'
    child.stdin.end(request(path, layout, generation, keys, slices));
  });
}
