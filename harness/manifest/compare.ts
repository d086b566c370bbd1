import type { CheckResult, ChainObservation, Observations } from '../drill/types.ts';
import type { ChainExpectation, CountExpectation, Manifest } from './schema.ts';

type Finding = Omit<CheckResult, 'stage'>;

/**
 * Compares what the probe observed with the manifest's expectations. Every
 * expectation yields a check; one that was not observed is an error, never a pass.
 */
export function compareWithManifest(manifest: Manifest, obs: Observations): Finding[] {
  const out: Finding[] = [];
  const exp = manifest.expectations;

  if (manifest.app.schemaRevision !== undefined) {
    out.push(
      obs.schemaRevision === undefined
        ? { id: 'compare.schema-revision', status: 'error', reason: 'the restored schema revision was not observed', expected: manifest.app.schemaRevision }
        : obs.schemaRevision === manifest.app.schemaRevision
          ? { id: 'compare.schema-revision', status: 'pass', reason: `schema revision ${obs.schemaRevision} as recorded`, expected: manifest.app.schemaRevision, observed: obs.schemaRevision }
          : { id: 'compare.schema-revision', status: 'fail', reason: `schema revision: expected ${manifest.app.schemaRevision}, observed ${obs.schemaRevision}`, expected: manifest.app.schemaRevision, observed: obs.schemaRevision },
    );
  }

  for (const [table, expected] of Object.entries(exp.counts)) {
    out.push(compareCount(table, expected, obs.counts[table]));
  }

  for (const [table, expected] of Object.entries(exp.fingerprints)) {
    const observed = obs.fingerprints[table];
    const id = `compare.fingerprint.${table}`;
    if (observed === undefined) out.push({ id, status: 'error', reason: `no content fingerprint was read for ${table}`, expected });
    else if (observed === expected) out.push({ id, status: 'pass', reason: `${table} content matches the backup`, expected, observed });
    else out.push({ id, status: 'fail', reason: `${table} content differs from what the backup recorded (fingerprint ${short(observed)}, expected ${short(expected)})`, expected, observed });
  }

  if (exp.chain) out.push(...compareChain(exp.chain, obs.chain));
  return out;
}

function compareCount(table: string, expected: CountExpectation, observed: number | undefined): Finding {
  const id = `compare.count.${table}`;
  if (observed === undefined) return { id, status: 'error', reason: `the row count of ${table} was not observed`, expected };
  if (typeof expected === 'number') {
    return observed === expected
      ? { id, status: 'pass', reason: `${table}: ${observed} rows as expected`, expected, observed }
      : { id, status: 'fail', reason: `${table}: expected ${expected} rows, observed ${observed}`, expected, observed };
  }
  const low = expected.min ?? 0;
  const high = expected.max ?? Number.POSITIVE_INFINITY;
  return observed >= low && observed <= high
    ? { id, status: 'pass', reason: `${table}: ${observed} rows, within ${low}..${expected.max ?? '∞'}`, expected, observed }
    : { id, status: 'fail', reason: `${table}: expected between ${low} and ${expected.max ?? '∞'} rows, observed ${observed}`, expected, observed };
}

/** Turns the harness's chain walk into findings that say what went wrong, not just that it did. */
export function compareChain(exp: ChainExpectation, chain: ChainObservation | undefined): Finding[] {
  const t = exp.table;
  if (!chain) return [{ id: 'compare.chain', status: 'error', reason: `the ${t} chain was not walked`, expected: exp }];
  const out: Finding[] = [];

  if (chain.length > 0 && chain.verifiedRows === 0) {
    out.push({
      id: 'compare.chain.secret',
      status: 'fail',
      reason: `the secret supplied is not the one that signed this chain: none of ${chain.length} ${t} rows verify with it (the data itself links correctly)`,
      observed: { verifiedRows: 0, length: chain.length },
    });
  } else {
    for (const p of chain.problems) {
      out.push(
        p.kind === 'hmac-mismatch'
          ? { id: `compare.chain.row`, status: 'fail', reason: `${t} row ${p.rowId} (position ${p.position + 1}): HMAC does not match the row's content - it was changed after it was signed` }
          : {
              id: `compare.chain.link`,
              status: 'fail',
              reason: `${t} chain break at row ${p.rowId} (position ${p.position + 1}): it links to ${short(p.actualPrev)} but the row before it is ${short(p.expectedPrev)} - a row is missing or out of place`,
              expected: p.expectedPrev,
              observed: p.actualPrev,
            },
      );
    }
    if (chain.problemCount > chain.problems.length) {
      out.push({ id: 'compare.chain.more', status: 'fail', reason: `${chain.problemCount - chain.problems.length} more chain problems not listed` });
    }
    if (chain.problemCount === 0) {
      out.push({ id: 'compare.chain.walk', status: 'pass', reason: `all ${chain.length} ${t} rows verify and link` });
    }
  }

  if (exp.startsAtGenesis && chain.firstPrevHmac !== null) {
    out.push({
      id: 'compare.chain.start',
      status: 'fail',
      reason: `${t} chain truncated: its first row links to ${short(chain.firstPrevHmac)} but the manifest expects a genesis row`,
      expected: null,
      observed: chain.firstPrevHmac,
    });
  } else if (!exp.startsAtGenesis && exp.firstPrevHmac !== undefined && chain.firstPrevHmac !== exp.firstPrevHmac) {
    out.push({
      id: 'compare.chain.start',
      status: 'fail',
      reason: `${t} chain starts at a different row than recorded: first row links to ${short(chain.firstPrevHmac)}, expected ${short(exp.firstPrevHmac)}`,
      expected: exp.firstPrevHmac,
      observed: chain.firstPrevHmac,
    });
  } else {
    out.push({ id: 'compare.chain.start', status: 'pass', reason: exp.startsAtGenesis ? `${t} chain starts at its genesis row` : `${t} chain starts where the manifest recorded (older rows pruned)` });
  }

  out.push(
    chain.length === exp.length
      ? { id: 'compare.chain.length', status: 'pass', reason: `${t} chain has ${chain.length} rows as recorded`, expected: exp.length, observed: chain.length }
      : { id: 'compare.chain.length', status: 'fail', reason: `${t} chain length: expected ${exp.length}, observed ${chain.length}`, expected: exp.length, observed: chain.length },
  );
  out.push(
    chain.headHmac === exp.headHmac
      ? { id: 'compare.chain.head', status: 'pass', reason: `${t} chain head ${short(chain.headHmac)} as recorded`, expected: exp.headHmac, observed: chain.headHmac }
      : { id: 'compare.chain.head', status: 'fail', reason: `${t} chain head: expected ${short(exp.headHmac)}, observed ${short(chain.headHmac)}`, expected: exp.headHmac, observed: chain.headHmac },
  );
  return out;
}

function short(h: string | null | undefined): string {
  return h == null ? 'nothing (genesis)' : h.length > 16 ? `${h.slice(0, 12)}…` : h;
}
