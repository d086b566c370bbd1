import { createHash } from 'node:crypto';

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
  /** Values as the application reads them, where that differs from this reader (see alsoRedact). */
  readonly #alsoRedact = new Set<string>();

  /** A bag of the file at `source` whose bytes are `raw` (harness/files/secrets-file.ts reads one from disk). */
  constructor(source: string, raw: Buffer) {
    this.source = source;
    this.raw = raw;
    this.fileSha256 = createHash('sha256').update(raw).digest('hex');
    this.#values = parseEnvFile(raw.toString('utf8'));
  }

  /** What the user should know about the file (it is readable by other users). */
  readonly warnings: string[] = [];

  get(name: string): string | undefined {
    return this.#values.get(name);
  }

  names(): string[] {
    return [...this.#values.keys()];
  }

  /**
   * Adds values to scrub from reports: the application's own reading of the
   * file (a profile's readSecrets) may take a value differently from this
   * reader (quotes kept, other line breaks), and what it reads must not leak either.
   */
  alsoRedact(values: Iterable<string>): void {
    for (const v of values) this.#alsoRedact.add(v);
  }

  /** Values long enough to be recognisable, for scrubbing text before it is reported. */
  valuesToRedact(): string[] {
    return [...new Set([...this.#values.values(), ...this.#alsoRedact])].filter((v) => v.length >= 6);
  }
}

/**
 * A secrets file as the application itself reads it (a profile's
 * readSecrets): the names it reads and a digest over names and values in a
 * canonical form, so that a file the application reads identically (other line
 * ends, comments, order) matches the one recorded at capture; or why the
 * application would refuse the file. Never a value.
 */
export type SecretsReading = { ok: true; names: string[]; sha256: string } | { ok: false; problem: string };

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

/** Replaces every secret value in a piece of text (longest first, so one that contains another is scrubbed whole). */
export function redactText(text: string, secrets: readonly string[]): string {
  if (secrets.length === 0) return text;
  let out = text;
  for (const sec of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(sec).join('[redacted]');
  return out;
}

/**
 * Scrubs secret values from the string values of a JSON-able value. Keys are
 * never touched and nothing is serialised and re-parsed: a secret that
 * happens to equal a key name (`status`) or holds a quote or a backslash can
 * neither rename a field nor survive in a value.
 */
export function redact<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redactText(v, secrets);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}

/**
 * A check as people read it: secret values scrubbed from its reason and its
 * expected/observed values. Its id, stage and status are not text about the
 * drill but the verdict's inputs, and are never rewritten.
 */
export function redactCheck<C extends { reason: string; expected?: unknown; observed?: unknown }>(check: C, secrets: readonly string[]): C {
  if (secrets.length === 0) return check;
  const out = { ...check, reason: redactText(check.reason, secrets) };
  if ('expected' in check) out.expected = redact(check.expected, secrets);
  if ('observed' in check) out.observed = redact(check.observed, secrets);
  return out;
}
