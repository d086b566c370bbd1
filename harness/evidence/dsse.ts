import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { keyId } from './keys.ts';

/**
 * A DSSE envelope (in-toto's Dead Simple Signing Envelope): the signature
 * covers the payload type and the exact payload bytes through the
 * pre-authentication encoding, so neither can be swapped or edited.
 */
export interface Envelope {
  payloadType: string;
  /** base64 of the payload bytes */
  payload: string;
  signatures: Array<{ keyid: string; sig: string }>;
}

export const REPORT_PAYLOAD_TYPE = 'application/vnd.restore-drill.report.v1+json';

/** PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const t = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${t.length} `), t, Buffer.from(` ${payload.length} `), payload]);
}

export function signEnvelope(payload: Buffer, payloadType: string, privateKey: KeyObject): Envelope {
  const sig = sign(null, pae(payloadType, payload), privateKey);
  return { payloadType, payload: payload.toString('base64'), signatures: [{ keyid: keyId(createPublicKey(privateKey)), sig: sig.toString('base64') }] };
}

/** The envelope's fields, and each signature's: DSSE's, nothing else (see verifyEnvelope). */
const ENVELOPE_FIELDS = ['payloadType', 'payload', 'signatures'];
const SIGNATURE_FIELDS = ['keyid', 'sig'];
/** restore-drill writes one signature; a few more leave room for co-signers, not for a flood to verify. */
export const MAX_SIGNATURES = 16;

/** Field names for a message: at most a few, each cut short and shown as JSON (a name may hold anything). */
function fieldList(names: string[]): string {
  const shown = names.slice(0, 3).map((n) => JSON.stringify(n.length > 40 ? `${n.slice(0, 40)}…` : n));
  return names.length > 3 ? `${shown.join(', ')} and ${names.length - 3} more` : shown.join(', ');
}

export type VerifyResult = { ok: true; payload: Buffer; keyId: string } | { ok: false; reason: string };

/** Checks an envelope's shape and its signature by one public key; says why when it fails. */
export function verifyEnvelope(raw: unknown, publicKey: KeyObject, expectedType = REPORT_PAYLOAD_TYPE): VerifyResult {
  if (typeof raw !== 'object' || raw === null) return { ok: false, reason: 'the file is not a signed envelope (not a JSON object)' };
  const env = raw as Partial<Envelope>;
  if (typeof env.payloadType !== 'string' || typeof env.payload !== 'string' || !Array.isArray(env.signatures)) {
    return { ok: false, reason: 'the file is not a signed envelope (payloadType, payload or signatures missing)' };
  }
  // Only what the signature covers, or names the signer, may be there: a field
  // beside them is vouched for by nobody, however plausible it looks to a reader.
  const extra = Object.keys(env).filter((k) => !ENVELOPE_FIELDS.includes(k));
  if (extra.length > 0) return { ok: false, reason: `the envelope holds fields no signature covers (${fieldList(extra)}); a signed envelope has only payloadType, payload and signatures` };
  if (env.signatures.length > MAX_SIGNATURES) return { ok: false, reason: `the envelope holds ${env.signatures.length} signatures, more than the ${MAX_SIGNATURES} accepted` };
  for (const s of env.signatures as unknown[]) {
    if (typeof s !== 'object' || s === null || Array.isArray(s)) return { ok: false, reason: 'a signature of the envelope is not an object of keyid and sig' };
    const extraSig = Object.keys(s).filter((k) => !SIGNATURE_FIELDS.includes(k));
    if (extraSig.length > 0) return { ok: false, reason: `a signature holds fields no signature covers (${fieldList(extraSig)}); each has only keyid and sig` };
  }
  if (env.payloadType !== expectedType) return { ok: false, reason: `payload type is ${env.payloadType}, expected ${expectedType}` };
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(env.payload)) return { ok: false, reason: 'the payload is not valid base64' };
  const payload = Buffer.from(env.payload, 'base64');
  // Base64 can spell the same bytes more than one way (the unused low bits of its
  // last character): only the one encoding that was signed is accepted, so no byte
  // of the envelope can change without verification failing.
  if (payload.toString('base64') !== env.payload) return { ok: false, reason: 'the payload is not in canonical base64: the envelope was changed after it was signed' };
  const id = keyId(publicKey);
  const mine = env.signatures.filter((s) => s && s.keyid === id);
  if (mine.length === 0) {
    return { ok: false, reason: `no signature by this public key (key id ${id.slice(0, 16)}…); signed by ${env.signatures.map((s) => String(s?.keyid).slice(0, 16) + '…').join(', ') || 'nobody'}` };
  }
  for (const s of mine) {
    if (typeof s.sig !== 'string') continue;
    const sig = Buffer.from(s.sig, 'base64');
    // The signature too: only its one canonical spelling counts.
    if (sig.toString('base64') === s.sig && verify(null, pae(env.payloadType, payload), publicKey, sig)) return { ok: true, payload, keyId: id };
  }
  return { ok: false, reason: 'the signature does not match the payload: the report was changed after it was signed (or signed by another key with the same id)' };
}

/** The one form an envelope file is written in (verify insists on it). */
export function envelopeText(env: unknown): string {
  return `${JSON.stringify(env, null, 2)}\n`;
}
