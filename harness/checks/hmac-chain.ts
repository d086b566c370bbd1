import { createHmac } from 'node:crypto';
import type { ChainObservation, ChainProblem } from '../drill/types.ts';

/** One row of an HMAC-linked chain, in chain order. */
export interface ChainRow {
  id: string;
  rowHmac: string;
  prevHmac: string | null;
  /** The exact bytes the application signed for this row (text is signed as UTF-8). */
  message: string | Uint8Array;
  /** The id of the key the row says signed it, where the application records one. */
  keyId?: string | null;
}

export interface ChainKey {
  key: Buffer;
  /** Matched against ChainRow.keyId; a key without an id is tried on every row. */
  id?: string;
}

export interface WalkOptions {
  table: string;
  /** Signing keys: the current one first, then older ones still accepted. */
  keys: ChainKey[];
  /** How many problems to keep in detail (all are counted). */
  maxProblems?: number;
}

/**
 * Walks a whole chain, streaming: each row's HMAC is recomputed with the keys,
 * and each row's previous-HMAC must equal the row before it. Memory does not
 * grow with the chain (only the first problems are kept).
 */
export function walkChain(rows: Iterable<ChainRow>, opts: WalkOptions): ChainObservation {
  const w = new ChainWalker(opts);
  for (const row of rows) w.push(row);
  return w.result();
}

/** The same walk fed one row at a time, for readers that push rows rather than yield them. */
export class ChainWalker {
  readonly #opts: WalkOptions;
  readonly #maxProblems: number;
  readonly #verifies: (row: ChainRow) => boolean;
  #problems: ChainProblem[] = [];
  #problemCount = 0;
  #verifiedRows = 0;
  #length = 0;
  #last: string | null = null;
  #firstPrevHmac: string | null = null;
  #firstRowId: string | undefined;

  constructor(opts: WalkOptions) {
    this.#opts = opts;
    this.#maxProblems = opts.maxProblems ?? 50;
    this.#verifies = verifier(opts.keys);
  }

  #note(p: ChainProblem): void {
    this.#problemCount++;
    if (this.#problems.length < this.#maxProblems) this.#problems.push(p);
  }

  /** The next row in chain order; its message is used before push returns (a reader may reuse the buffer). */
  push(row: ChainRow): void {
    if (this.#length === 0) {
      this.#firstPrevHmac = row.prevHmac;
      this.#firstRowId = row.id;
    } else if (row.prevHmac !== this.#last) {
      this.#note({ kind: 'chain-break', position: this.#length, rowId: row.id, expectedPrev: this.#last, actualPrev: row.prevHmac });
    }
    if (this.#verifies(row)) this.#verifiedRows++;
    else this.#note({ kind: 'hmac-mismatch', position: this.#length, rowId: row.id });
    this.#last = row.rowHmac;
    this.#length++;
  }

  result(): ChainObservation {
    return {
      table: this.#opts.table, length: this.#length, headHmac: this.#last, firstPrevHmac: this.#firstPrevHmac, verifiedRows: this.#verifiedRows,
      problems: this.#problems, problemCount: this.#problemCount, ...(this.#firstRowId ? { firstRowId: this.#firstRowId } : {}),
    };
  }
}

/** Plain createHmac per row: faster than copying precomputed pad states (measured 491k against 272k rows/s). */
function verifier(keys: ChainKey[]): (row: ChainRow) => boolean {
  return (row) => {
    for (const k of keys) {
      if (k.id !== undefined && row.keyId != null && k.id !== row.keyId) continue;
      if (createHmac('sha256', k.key).update(row.message).digest('hex') === row.rowHmac) return true;
    }
    return false;
  };
}

/**
 * Joins the walks of consecutive segments of one chain (walked in parallel):
 * positions are shifted, and each segment's first row must link to the
 * previous segment's last row, the one link a segment cannot check alone.
 */
export function stitchSegments(table: string, segments: ChainObservation[], maxProblems = 50): ChainObservation {
  const problems: ChainProblem[] = [];
  let problemCount = 0;
  let offset = 0;
  let verifiedRows = 0;
  let head: string | null = null;
  let firstPrevHmac: string | null = null;
  let started = false;
  for (const seg of segments) {
    if (seg.length === 0) continue;
    if (!started) {
      firstPrevHmac = seg.firstPrevHmac;
      started = true;
    } else if (seg.firstPrevHmac !== head) {
      problemCount++;
      if (problems.length < maxProblems) {
        problems.push({ kind: 'chain-break', position: offset, rowId: seg.firstRowId ?? '?', expectedPrev: head, actualPrev: seg.firstPrevHmac });
      }
    }
    for (const p of seg.problems) if (problems.length < maxProblems) problems.push({ ...p, position: p.position + offset });
    problemCount += seg.problemCount;
    verifiedRows += seg.verifiedRows;
    offset += seg.length;
    head = seg.headHmac;
  }
  problems.sort((a, b) => a.position - b.position);
  return { table, length: offset, headHmac: head, firstPrevHmac, verifiedRows, problems, problemCount };
}
