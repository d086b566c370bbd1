import { readFileSync } from 'node:fs';
import { ExitCode, UsageError } from '../errors.ts';
import { REPORT_PAYLOAD_TYPE, envelopeText, verifyEnvelope } from '../evidence/dsse.ts';
import { generateKeys, loadPublicKey } from '../evidence/keys.ts';
import { RunReportSchema } from '../report/schema.ts';

export async function keygenCommand(opts: { out: string; force?: boolean; print: (l: string) => void }): Promise<number> {
  const { keyId } = generateKeys(`${opts.out}.key`, `${opts.out}.pub`, opts.force);
  opts.print(`private key: ${opts.out}.key (keep it secret; mode 0600)`);
  opts.print(`public key:  ${opts.out}.pub (give it to whoever checks the evidence)`);
  opts.print(`key id:      ${keyId}`);
  return ExitCode.passed;
}

/**
 * Verifies a signed report offline: the envelope, the Ed25519 signature over
 * the exact payload, and that the payload is a restore-drill report. Prints what
 * the signature vouches for. Exit 0 when it holds, 1 when it does not.
 */
export async function verifyCommand(opts: { report: string; pubkey: string; print: (l: string) => void }): Promise<number> {
  const key = loadPublicKey(opts.pubkey);
  let raw: unknown;
  let text: string;
  try {
    text = readFileSync(opts.report, 'utf8');
    raw = JSON.parse(text);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code) throw new UsageError(`cannot read ${opts.report}: ${code}`, 'RD_REPORT_UNREADABLE');
    opts.print(`NOT VERIFIED ${opts.report}: the file is not JSON (${(e as Error).message})`);
    return ExitCode.failed;
  }
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
  const parsed = RunReportSchema.safeParse(JSON.parse(v.payload.toString('utf8')));
  if (!parsed.success) {
    opts.print(`NOT VERIFIED ${opts.report}: the signed payload is not a restore-drill report (${parsed.error.issues[0]?.message})`);
    return ExitCode.failed;
  }
  const run = parsed.data;
  opts.print(`VERIFIED ${opts.report}: signed by key id ${v.keyId}`);
  opts.print(`run ${run.status}, ${run.startedAt} .. ${run.finishedAt}, restore-drill ${run.tool.version}`);
  for (const d of run.drills) {
    const checks = `${d.checks.filter((c) => c.status === 'pass').length}/${d.checks.length} checks passed`;
    opts.print(`  ${d.verdict.padEnd(6)} ${d.archive.file} sha256 ${d.archive.sha256 ?? '-'} image ${d.image?.id ?? '-'} (${d.app?.name ?? d.profile} ${d.app?.version ?? ''}) ${checks} at ${d.finishedAt}`);
  }
  return ExitCode.passed;
}
