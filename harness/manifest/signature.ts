import { existsSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { signEnvelope, verifyEnvelope, envelopeText } from '../evidence/dsse.ts';
import { isRestoreDrillError } from '../errors.ts';
import { readUserFile } from '../files/read-user-file.ts';
import { parseUserJson } from '../files/user-json.ts';
import { MANIFEST_MAX_BYTES } from './load.ts';

/** DSSE payload type of a signed manifest: the payload is the manifest file's exact bytes. */
export const MANIFEST_PAYLOAD_TYPE = 'application/vnd.restore-drill.manifest.v1+json';

/** The largest manifest signature read: the largest manifest as base64, and room for the rest of the envelope. */
export const MANIFEST_ENVELOPE_MAX_BYTES = Math.ceil(MANIFEST_MAX_BYTES / 3) * 4 + (64 << 10);

/** Where a manifest's signature lives: beside it. */
export function manifestSignaturePath(manifestPath: string): string {
  return `${manifestPath}.dsse.json`;
}

export function signManifestText(bytes: Buffer, key: KeyObject): string {
  return envelopeText(signEnvelope(bytes, MANIFEST_PAYLOAD_TYPE, key));
}

/**
 * Why a manifest cannot be trusted with this public key, or undefined when its
 * signature holds and covers exactly these bytes. Expectations that anyone
 * could have edited after the backup prove nothing to an auditor. The envelope
 * is read like every file a user names: a FIFO, a device, a folder or an
 * oversized file is a problem named, never a wait.
 */
export async function manifestSignatureProblem(
  manifestPath: string,
  bytes: Buffer,
  publicKey: KeyObject,
  /** Reads the signature where it is not a local file (beside an archive in a store): undefined when there is none. */
  readSignature?: (sigPath: string, maxBytes: number) => Promise<Buffer | undefined>,
): Promise<string | undefined> {
  const sigPath = manifestSignaturePath(manifestPath);
  const unsigned = `manifest ${manifestPath} is not signed (no ${sigPath}); sign it at capture with --sign`;
  if (!readSignature && !existsSync(sigPath)) return unsigned;
  let text: string;
  try {
    if (readSignature) {
      const got = await readSignature(sigPath, MANIFEST_ENVELOPE_MAX_BYTES);
      if (got === undefined) return unsigned;
      text = got.toString('utf8');
    } else text = (await readUserFile(sigPath, { what: 'manifest signature', maxBytes: MANIFEST_ENVELOPE_MAX_BYTES, code: 'RD_MANIFEST_UNSIGNED' })).toString('utf8');
  } catch (e) {
    // A FIFO, a device, a folder or a huge file where the signature should be: no signature, said as such.
    // A store that failed to answer (403, a cut) is its own error, not a missing signature.
    if (isRestoreDrillError(e) && !e.code.startsWith('RD_SOURCE')) return e.message;
    throw e;
  }
  const json = parseUserJson(text);
  if (!json.ok) return `${sigPath} is not a signed envelope (not JSON: ${json.reason})`;
  const v = verifyEnvelope(json.value, publicKey, MANIFEST_PAYLOAD_TYPE);
  if (!v.ok) return `manifest signature ${sigPath}: ${v.reason}`;
  if (!v.payload.equals(bytes)) return `manifest ${manifestPath} differs from what ${sigPath} signed: it was edited after it was signed`;
  return undefined;
}
