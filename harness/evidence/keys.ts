import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { readUserFileSync } from '../files/read-user-file.ts';
import { UsageError } from '../errors.ts';

/** An Ed25519 key pair for signing drill evidence, as PEM files (private 0600). */
export function generateKeys(privatePath: string, publicPath: string, force = false): { keyId: string } {
  for (const p of [privatePath, publicPath]) {
    if (existsSync(p) && !force) throw new UsageError(`${p} exists; use --force to replace it`, 'RD_KEY_EXISTS');
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writeFileSync(privatePath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(publicPath, publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
  return { keyId: keyId(publicKey) };
}

/** The key id: sha256 of the public key's DER form, hex. */
export function keyId(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
}

/** The largest key file read: an Ed25519 PEM is about 120 bytes. */
const KEY_MAX_BYTES = 64 << 10;
// Any PEM private key: PKCS#8 ("PRIVATE KEY", "ENCRYPTED PRIVATE KEY"), PKCS#1 ("RSA PRIVATE KEY"), "EC", "OPENSSH".
const PRIVATE_PEM = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
const PUBLIC_PEM = /-----BEGIN [A-Z0-9 ]*PUBLIC KEY-----/;

/** The signing key; `option` names where it was given (--sign), for messages. */
export function loadPrivateKey(path: string, option = '--sign'): KeyObject {
  const pem = readKeyFile(path);
  if (PUBLIC_PEM.test(pem) && !PRIVATE_PEM.test(pem)) {
    throw new UsageError(`${option} ${path} is a public key: ${option} takes the private key (PREFIX.key from "evidence keygen")`, 'RD_KEY_PUBLIC');
  }
  const key = parseKey(path, option, () => createPrivateKey(pem));
  if (key.asymmetricKeyType !== 'ed25519') throw new UsageError(`${option} ${path} is not an Ed25519 private key`, 'RD_KEY_INVALID');
  return key;
}

/**
 * A public key to verify with; `option` names where it was given (--pubkey,
 * --manifest-pubkey). A private key is refused, though Node would derive the
 * public key from it: whoever holds the private key can sign anything, so one
 * handed to a verifier has leaked, and the verifier should say so rather than
 * quietly work. The key's content is never printed.
 */
export function loadPublicKey(path: string, option = '--pubkey'): KeyObject {
  const pem = readKeyFile(path);
  if (PRIVATE_PEM.test(pem) || isPrivateKey(pem)) {
    throw new UsageError(
      `${option} ${path} is a private key, not a public one: give the public key (PREFIX.pub from "evidence keygen"); the private key should stay with whoever signs`,
      'RD_KEY_PRIVATE',
    );
  }
  const key = parseKey(path, option, () => createPublicKey(pem));
  if (key.type !== 'public' || key.asymmetricKeyType !== 'ed25519') throw new UsageError(`${option} ${path} is not an Ed25519 public key`, 'RD_KEY_INVALID');
  return key;
}

function isPrivateKey(pem: string): boolean {
  try {
    createPrivateKey(pem);
    return true;
  } catch {
    return false;
  }
}

function readKeyFile(path: string): string {
  return readUserFileSync(path, { what: 'key', maxBytes: KEY_MAX_BYTES, code: 'RD_KEY_UNREADABLE' }).toString('utf8');
}

function parseKey(path: string, option: string, parse: () => KeyObject): KeyObject {
  try {
    return parse();
  } catch {
    throw new UsageError(`${option} ${path} is not a PEM key`, 'RD_KEY_INVALID');
  }
}
