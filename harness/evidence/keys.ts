import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { readUserFile } from '../files/read-user-file.ts';
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

export function loadPrivateKey(path: string): KeyObject {
  const key = readKey(path, (pem) => createPrivateKey(pem));
  if (key.asymmetricKeyType !== 'ed25519') throw new UsageError(`${path} is not an Ed25519 private key`, 'RD_KEY_INVALID');
  return key;
}

export function loadPublicKey(path: string): KeyObject {
  const key = readKey(path, (pem) => createPublicKey(pem));
  if (key.asymmetricKeyType !== 'ed25519') throw new UsageError(`${path} is not an Ed25519 public key`, 'RD_KEY_INVALID');
  return key;
}

function readKey(path: string, parse: (pem: string) => KeyObject): KeyObject {
  const pem = readUserFile(path, { what: 'key', maxBytes: 64 << 10, code: 'RD_KEY_UNREADABLE' }).toString('utf8');
  try {
    return parse(pem);
  } catch {
    throw new UsageError(`${path} is not a PEM key`, 'RD_KEY_INVALID');
  }
}
