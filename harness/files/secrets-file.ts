import { readUserFileSync, worldReadable } from './read-user-file.ts';
import { SecretBag } from '../model/secrets.ts';

/** A secrets file (KEY=VALUE) read like every file a user names: no symlink, at most 1 MiB, a warning when others can read it. */
export function readSecretsFile(path: string): SecretBag {
  const raw = readUserFileSync(path, { what: 'secrets file', maxBytes: 1 << 20, noSymlink: true, code: 'RD_SECRETS_UNREADABLE' });
  const bag = new SecretBag(path, raw);
  if (worldReadable(path)) bag.warnings.push(`secrets file ${path} can be read by every user on this host (mode o+r); chmod 600 it`);
  return bag;
}
