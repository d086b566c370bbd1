import { ExitCode } from '../errors.ts';
import { checkOutputPath } from '../files/output-path.ts';
import { readUserFile } from '../files/read-user-file.ts';
import { parseUserJson } from '../files/user-json.ts';
import { REPORT_PAYLOAD_TYPE, envelopeText, verifyEnvelope } from '../evidence/dsse.ts';
import { generateKeys, loadPublicKey } from '../evidence/keys.ts';
import { verifyBundle } from '../attestation/bundle.ts';
import { INTOTO_PAYLOAD_TYPE } from '../attestation/statement.ts';
import type { DrillReport } from '../model/types.ts';
import { RunReportSchema } from '../report/schema.ts';

/**
 * The largest signed report read: a report of a thousand drills is a few MiB;
 * as base64 in its envelope a third more.
 */
export const REPORT_ENVELOPE_MAX_BYTES = 64 << 20;

export async function keygenCommand(opts: { out: string; force?: boolean; print: (l: string) => void }): Promise<number> {
  // A folder, a FIFO or a device where a key would go is refused before a key is made (a FIFO would block the write).
  for (const [path, what] of [[`${opts.out}.key`, 'private key'], [`${opts.out}.pub`, 'public key']] as const) checkOutputPath(path, what, { createParents: false });
  const { keyId } = generateKeys(`${opts.out}.key`, `${opts.out}.pub`, opts.force);
  opts.print(`private key: ${opts.out}.key (keep it secret; mode 0600)`);
  opts.print(`public key:  ${opts.out}.pub (give it to whoever checks the evidence)`);
  opts.print(`key id:      ${keyId}`);
  return ExitCode.passed;
}

/**
 * Verifies signed evidence offline: either the signed run report
 * (REPORT.dsse.json, one envelope, as restore-drill has always written it) or
 * the attestation bundle (REPORT.intoto.jsonl, in-toto statements, one envelope
 * a line). For each: the envelope, the Ed25519 signature over the exact payload,
 * and that the payload is what restore-drill writes. Prints what the signature
 * vouches for. Exit 0 when it holds, 1 when it does not.
 */
export async function verifyCommand(opts: { report: string; pubkey: string; print: (l: string) => void }): Promise<number> {
  const key = loadPublicKey(opts.pubkey, '--pubkey');
  // Read like every file a user names: a regular file, bounded, never blocking.
  const text = (await readUserFile(opts.report, { what: 'signed report', maxBytes: REPORT_ENVELOPE_MAX_BYTES, code: 'RD_REPORT_UNREADABLE' })).toString('utf8');
  const json = parseUserJson(text);
  // Which of the two forms, by content, never by the file's name: a bundle is
  // JSON Lines (one line, a signed statement, is JSON as a whole too); the report
  // envelope is one indented JSON object.
  if (json.ok ? isStatementEnvelope(json.value) : parseUserJson(text.slice(0, text.indexOf('\n') >>> 0)).ok) return verifyBundleFile(text, key, opts);
  if (!json.ok) {
    opts.print(`NOT VERIFIED ${opts.report}: the file is not JSON (${json.reason})`);
    return ExitCode.failed;
  }
  const raw = json.value;
  // The envelope is written in one exact form; any byte changed outside the
  // signed payload (spacing, key order, an added field) is caught here.
  if (text !== envelopeText(raw)) {
    opts.print(`NOT VERIFIED ${opts.report}: the envelope file was changed (it is not byte for byte the envelope restore-drill wrote)`);
    return ExitCode.failed;
  }
  const v = verifyEnvelope(raw, key, REPORT_PAYLOAD_TYPE);
  if (!v.ok) {
    opts.print(`NOT VERIFIED ${opts.report}: ${v.reason}`);
    return ExitCode.failed;
  }
  // Signed, but by a key that could have signed anything: the payload is checked as warily as the envelope.
  const payload = parseUserJson(v.payload.toString('utf8'));
  const parsed = payload.ok ? RunReportSchema.safeParse(payload.value) : undefined;
  if (!parsed?.success) {
    opts.print(`NOT VERIFIED ${opts.report}: the signed payload is not a restore-drill report (${payload.ok ? parsed?.error.issues[0]?.message : payload.reason})`);
    return ExitCode.failed;
  }
  const run = parsed.data;
  opts.print(`VERIFIED ${opts.report}: signed by key id ${v.keyId}`);
  opts.print(`run ${run.status}, ${run.startedAt} .. ${run.finishedAt}, restore-drill ${run.tool.version}`);
  for (const d of run.drills) opts.print(drillLine(d));
  return ExitCode.passed;
}

function isStatementEnvelope(v: unknown): boolean {
  return typeof v === 'object' && v !== null && (v as { payloadType?: unknown }).payloadType === INTOTO_PAYLOAD_TYPE;
}

function drillLine(d: DrillReport): string {
  const checks = `${d.checks.filter((c) => c.status === 'pass').length}/${d.checks.length} checks passed`;
  return `  ${d.verdict.padEnd(6)} ${d.archive.file} sha256 ${d.archive.sha256 ?? '-'} image ${d.image?.id ?? '-'} (${d.app?.name ?? d.profile} ${d.app?.version ?? ''}) ${checks} at ${d.finishedAt}`;
}

function verifyBundleFile(text: string, key: Parameters<typeof verifyBundle>[1], opts: { report: string; print: (l: string) => void }): number {
  const v = verifyBundle(text, key);
  if (!v.ok) {
    opts.print(`NOT VERIFIED ${opts.report}: ${v.reason}`);
    return ExitCode.failed;
  }
  const versions = [...new Set(v.attestations.map((a) => a.toolVersion))].join(', ');
  opts.print(`VERIFIED ${opts.report}: signed by key id ${v.keyId}`);
  opts.print(`${v.attestations.length} in-toto test result(s) with their drills, restore-drill ${versions}`);
  for (const a of v.attestations) opts.print(`${drillLine(a.drill)}, result ${a.result}`);
  return ExitCode.passed;
}
