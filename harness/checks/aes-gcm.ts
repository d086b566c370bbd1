import { createDecipheriv } from 'node:crypto';
import { DrillError } from '../errors.ts';

/** A stored, sealed value and what names it in a finding (never its content). */
export interface SealedValue {
  id: string;
  value: Buffer;
}

/** How a sealed value is laid out: nonce, then ciphertext, then the tag; no associated data. */
export interface SealedLayout {
  nonceBytes: number;
  tagBytes: number;
}

export const NONCE_CIPHERTEXT_TAG: SealedLayout = { nonceBytes: 12, tagBytes: 16 };

export interface DecryptProbeResult {
  total: number;
  decrypted: number;
  /** Values that did not open: the tag did not verify under the key, or the value is too short to hold nonce and tag. */
  failures: Array<{ id: string; why: 'authentication' | 'too-short' }>;
}

/**
 * Opens every sealed value with an AES-256-GCM key and keeps only the verdict:
 * the plaintexts are dropped at once. GCM authenticates, so a wrong key fails
 * loudly (it never yields gibberish): a value that opens proves key and data
 * belong together.
 */
export function decryptProbe(key: Buffer, values: Iterable<SealedValue>, layout: SealedLayout = NONCE_CIPHERTEXT_TAG): DecryptProbeResult {
  if (key.length !== 32) throw new DrillError(`the key is ${key.length} bytes; AES-256 needs exactly 32`, 'RD_UNREADABLE_DATA');
  const out: DecryptProbeResult = { total: 0, decrypted: 0, failures: [] };
  for (const { id, value } of values) {
    out.total++;
    if (value.length < layout.nonceBytes + layout.tagBytes) {
      out.failures.push({ id, why: 'too-short' });
      continue;
    }
    const nonce = value.subarray(0, layout.nonceBytes);
    const tag = value.subarray(value.length - layout.tagBytes);
    const body = value.subarray(layout.nonceBytes, value.length - layout.tagBytes);
    try {
      const d = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: layout.tagBytes });
      d.setAuthTag(tag);
      d.update(body).fill(0);
      d.final();
      out.decrypted++;
    } catch {
      out.failures.push({ id, why: 'authentication' });
    }
  }
  return out;
}
