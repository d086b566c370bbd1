import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { UsageError } from '../errors.ts';

/**
 * Secret values read from a KEY=VALUE file, held in memory only. They reach a
 * container as a 0600 file, never as an argument or an environment variable
 * that `docker inspect` would show.
 */
export class SecretBag {
  readonly source: string;
  readonly fileSha256: string;
  readonly raw: Buffer;
  readonly #values: Map<string, string>;

  private constructor(source: string, raw: Buffer) {
    this.source = source;
    this.raw = raw;
    this.fileSha256 = createHash('sha256').update(raw).digest('hex');
    this.#values = parseEnvFile(raw.toString('utf8'));
  }

  static fromFile(path: string): SecretBag {
    let raw: Buffer;
    try {
      raw = readFileSync(path);
    } catch (e) {
      throw new UsageError(`cannot read secrets file ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`, 'RD_SECRETS_UNREADABLE');
    }
    return new SecretBag(path, raw);
  }

  get(name: string): string | undefined {
    return this.#values.get(name);
  }

  names(): string[] {
    return [...this.#values.keys()];
  }

  /** Values long enough to be recognisable, for scrubbing text before it is reported. */
  valuesToRedact(): string[] {
    return [...this.#values.values()].filter((v) => v.length >= 6);
  }
}

/** KEY=VALUE lines; blank lines and # comments skipped; optional quotes and `export`. */
export function parseEnvFile(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m || line.trimStart().startsWith('#')) continue;
    let value = m[2]!;
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0])) value = value.slice(1, -1);
    out.set(m[1]!, value);
  }
  return out;
}

/** Replaces every secret value in a piece of text or a JSON-able value. */
export function redact<T>(value: T, secrets: string[]): T {
  if (secrets.length === 0) return value;
  const scrub = (s: string) => secrets.reduce((acc, sec) => acc.split(sec).join('[redacted]'), s);
  if (typeof value === 'string') return scrub(value) as T;
  if (value === undefined || value === null || typeof value !== 'object') return value;
  return JSON.parse(scrub(JSON.stringify(value))) as T;
}
