import { existsSync, readFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { signEnvelope, verifyEnvelope, envelopeText } from '../evidence/dsse.ts';

/** DSSE payload type of a signed manifest: the payload is the manifest file's exact bytes. */
export const MANIFEST_PAYLOAD_TYPE = 'application/vnd.restore-drill.manifest.v1+json';

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
 * could have edited after the backup prove nothing to an auditor.
 */
export function manifestSignatureProblem(manifestPath: string, bytes: Buffer, publicKey: KeyObject): string | undefined {
  const sigPath = manifestSignaturePath(manifestPath);
  if (!existsSync(sigPath)) return `manifest ${manifestPath} is not signed (no ${sigPath}); sign it at capture with --sign`;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(sigPath, 'utf8'));
  } catch {
    return `${sigPath} is not a signed envelope (not JSON)`;
  }
  const v = verifyEnvelope(raw, publicKey, MANIFEST_PAYLOAD_TYPE);
  if (!v.ok) return `manifest signature ${sigPath}: ${v.reason}`;
  if (!v.payload.equals(bytes)) return `manifest ${manifestPath} differs from what ${sigPath} signed: it was edited after it was signed`;
  return undefined;
}
