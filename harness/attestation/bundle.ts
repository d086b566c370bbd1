import type { KeyObject } from 'node:crypto';
import { parseUserJson } from '../files/user-json.ts';
import type { DrillReport } from '../model/types.ts';
import { verifyEnvelope } from '../evidence/dsse.ts';
import { DRILL_PREDICATE, INTOTO_PAYLOAD_TYPE, StatementSchema, TEST_RESULT_PREDICATE, bundleLine, drillStatements, type Statement } from './statement.ts';

/** Two per drill: a thousand drills are 2,000; a bound so a flood of lines is refused before it is verified. */
export const MAX_BUNDLE_ENVELOPES = 10_000;

export interface Attestation {
  result: 'PASSED' | 'FAILED';
  drill: DrillReport;
  toolVersion: string;
}
export type BundleResult = { ok: true; keyId: string; attestations: Attestation[] } | { ok: false; reason: string };

/**
 * Checks a restore-drill attestation bundle (JSON Lines of DSSE envelopes):
 * every line is an envelope signed by `publicKey` over an in-toto Statement,
 * written in the one compact form, and the statements come in the pairs
 * restore-drill writes: a test result, then the drill it summarises, about the
 * same archive. The pair is rebuilt from the signed drill and must be the signed
 * bytes exactly, so a test result can never disagree with its drill (a PASSED
 * beside a failed drill, a check moved between the lists), even under a valid
 * signature.
 */
export function verifyBundle(text: string, publicKey: KeyObject): BundleResult {
  if (text.length === 0) return { ok: false, reason: 'the bundle is empty: no drill is attested' };
  if (!text.endsWith('\n')) return { ok: false, reason: 'the bundle does not end with a newline: it was cut short or changed' };
  const lines = text.slice(0, -1).split('\n');
  if (lines.length > MAX_BUNDLE_ENVELOPES) return { ok: false, reason: `the bundle holds ${lines.length} lines, more than the ${MAX_BUNDLE_ENVELOPES} accepted` };
  const payloads: string[] = [];
  let keyId = '';
  for (const [i, line] of lines.entries()) {
    const at = `line ${i + 1}`;
    const json = parseUserJson(line);
    if (!json.ok) return { ok: false, reason: `${at} is not JSON (${json.reason})` };
    // Any byte changed outside the signed payload (spacing, key order, an added field) is caught here.
    if (bundleLine(json.value) !== `${line}\n`) return { ok: false, reason: `${at} was changed (it is not byte for byte the envelope restore-drill wrote)` };
    const v = verifyEnvelope(json.value, publicKey, INTOTO_PAYLOAD_TYPE);
    if (!v.ok) return { ok: false, reason: `${at}: ${v.reason}` };
    keyId = v.keyId;
    payloads.push(v.payload.toString('utf8'));
  }
  if (payloads.length % 2 !== 0) return { ok: false, reason: `the bundle holds ${payloads.length} statements; restore-drill writes two per drill (a test result and its drill)` };
  const attestations: Attestation[] = [];
  for (let i = 0; i < payloads.length; i += 2) {
    const at = `lines ${i + 1}-${i + 2}`;
    // Signed, but by a key that could have signed anything: each statement is read as warily as the envelope.
    const first = readStatement(payloads[i]!);
    const second = readStatement(payloads[i + 1]!);
    if (!first.ok) return { ok: false, reason: `line ${i + 1}: the signed payload is not a restore-drill in-toto statement (${first.reason})` };
    if (!second.ok) return { ok: false, reason: `line ${i + 2}: the signed payload is not a restore-drill in-toto statement (${second.reason})` };
    if (first.statement.predicateType !== TEST_RESULT_PREDICATE || second.statement.predicateType !== DRILL_PREDICATE) {
      return { ok: false, reason: `${at}: not a test result followed by its drill (the statements were reordered or swapped)` };
    }
    // The raw value, not the schema's copy (which orders and drops keys): rebuilt from
    // the signed drill, the pair must be the signed bytes, and JSON.stringify gives
    // back what JSON.parse read, numbers and key order included.
    const { drill, tool } = (second.raw as { predicate: { drill: unknown; tool: { version: string } } }).predicate;
    let rebuilt: string[];
    try {
      rebuilt = drillStatements(drill as DrillReport, tool.version).map((s) => JSON.stringify(s));
    } catch (e) {
      return { ok: false, reason: `${at}: ${(e as Error).message}` };
    }
    if (rebuilt[0] !== payloads[i] || rebuilt[1] !== payloads[i + 1]) {
      return { ok: false, reason: `${at}: the test result does not match its drill (result, checks, configuration or subject differ from what the drill says)` };
    }
    attestations.push({ result: first.statement.predicate.result, drill: drill as DrillReport, toolVersion: tool.version });
  }
  return { ok: true, keyId, attestations };
}

type Read<T> = { ok: true; statement: T; raw: unknown } | { ok: false; reason: string };
type TestResultStatement = Extract<Statement, { predicateType: typeof TEST_RESULT_PREDICATE }>;
type DrillStatement = Extract<Statement, { predicateType: typeof DRILL_PREDICATE }>;

function readStatement(payload: string): Read<TestResultStatement> | Read<DrillStatement> {
  const json = parseUserJson(payload);
  if (!json.ok) return { ok: false, reason: json.reason };
  const s = StatementSchema.safeParse(json.value);
  if (!s.success) {
    const issue = s.error.issues[0];
    return { ok: false, reason: issue ? `${issue.path.join('.') || 'statement'}: ${issue.message}` : 'not a statement' };
  }
  return { ok: true, statement: s.data, raw: json.value } as Read<TestResultStatement> | Read<DrillStatement>;
}
