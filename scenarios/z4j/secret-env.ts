import { createHash } from 'node:crypto';
import type { SecretBag, SecretsReading } from '../../harness/model/secrets.ts';

/**
 * secret.env exactly as the installed z4j reads it: z4j_brain/secret_store.py
 * `_parse_document` (the only reader z4j has for the file; the same code and
 * the same five keys in 1.8.0, 1.9.0, 1.11.0, 1.12.1 and 1.13.0). Its
 * rules: at most 128 KiB; strict UTF-8 (a byte-order mark is kept, and then
 * makes the first key unknown); lines split as Python's str.splitlines()
 * does; each line stripped as str.strip() does; blank and `#` lines skipped;
 * split at the first "=", key and value stripped; the key must be one of the
 * five z4j knows (so `export Z4J_SECRET=` is refused: its key is "export
 * Z4J_SECRET"); a repeated key, an empty value or a NUL in a value refuses
 * the file. Quotes are part of the value. Either z4j reads the file, and these
 * are its names and values, or it refuses the whole file, and this says why
 * (in z4j's own words, line numbers as z4j counts them, never a value).
 */
export type Z4jSecretEnv = { ok: true; values: Map<string, string> } | { ok: false; problem: string };

/** z4j's ALLOWED_SECRET_STORE_KEYS (1.8.0 to 1.13.0). */
export const Z4J_SECRET_KEYS: ReadonlySet<string> = new Set(['Z4J_SECRET', 'Z4J_SESSION_SECRET', 'Z4J_METRICS_AUTH_TOKEN', 'Z4J_AUDIT_CHAIN_SECRET', 'Z4J_AUDIT_CHAIN_PREVIOUS_SECRETS']);

const MAX_BYTES = 128 * 1024;
/** Python's str.splitlines() boundaries (\r\n counts as one). */
const PY_LINE_BREAK = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;
/** Python's str.isspace() set (Unicode 14, as in Python 3.11); JavaScript's trim() differs (it strips U+FEFF, keeps \x1c-\x1f and U+0085). */
const PY_SPACE = '\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';

function pyStrip(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && PY_SPACE.includes(s[a]!)) a++;
  while (b > a && PY_SPACE.includes(s[b - 1]!)) b--;
  return s.slice(a, b);
}

/** Python's splitlines(): no empty last line after a final line break. */
function pySplitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(PY_LINE_BREAK);
  if (PY_LINE_BREAK.test(text.at(-1)!)) lines.pop();
  return lines;
}

export function readZ4jSecretEnv(raw: Buffer): Z4jSecretEnv {
  if (raw.length > MAX_BYTES) return { ok: false, problem: 'secret.env exceeds the 128 KiB safety bound' };
  let text: string;
  try {
    // fatal: invalid UTF-8 refused as Python's strict decode does; ignoreBOM: the mark stays in the text, as in Python.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(raw);
  } catch {
    return { ok: false, problem: 'secret.env is not valid UTF-8' };
  }
  const values = new Map<string, string>();
  const lines = pySplitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const line = pyStrip(lines[i]!);
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) return { ok: false, problem: `secret.env line ${n} is malformed (missing '=')` };
    const key = pyStrip(line.slice(0, eq));
    const value = pyStrip(line.slice(eq + 1));
    if (!Z4J_SECRET_KEYS.has(key)) {
      // The key is named (it is left of "="), but only as far as it is a plausible name.
      const shown = /^[\w ]{1,64}$/.test(key) ? ` ${JSON.stringify(key)}` : '';
      const hint = /^export\s/.test(key) ? ' (remove the "export " prefix)' : '';
      return { ok: false, problem: `secret.env line ${n} contains unsupported key${shown}${hint}; z4j accepts only ${[...Z4J_SECRET_KEYS].join(', ')}` };
    }
    if (values.has(key)) return { ok: false, problem: `secret.env contains duplicate key ${key} (line ${n})` };
    if (!value) return { ok: false, problem: `secret.env key ${key} has an empty value (line ${n})` };
    if (value.includes('\0')) return { ok: false, problem: `secret.env key ${key} contains a NUL byte (line ${n})` };
    values.set(key, value);
  }
  return { ok: true, values };
}

/**
 * The digest of what z4j reads: names sorted, each name and value as a JSON
 * string (unambiguous whatever a value holds), under a label naming the form.
 * Two files z4j reads identically (CRLF, comments, blank lines, spaces around
 * "=", another order) have the same digest; any other name or value changes it.
 */
export function z4jReadDigest(values: ReadonlyMap<string, string>): string {
  const entries = [...values.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(`z4j secret.env as read, v1\n${JSON.stringify(entries)}`).digest('hex');
}

/**
 * The supplied file as z4j reads it, for the plan-time comparison with the one
 * recorded at capture. z4j's values are added to what reports scrub (the
 * harness's own, more forgiving reader can read a value differently: it strips
 * quotes that z4j keeps).
 */
export function readZ4jSecrets(bag: SecretBag): SecretsReading {
  const read = readZ4jSecretEnv(bag.raw);
  if (!read.ok) return { ok: false, problem: `z4j refuses it: ${read.problem}` };
  bag.alsoRedact([...read.values.values()]);
  const missing = Z4J_CLI_NEEDS.filter((k) => !read.values.has(k));
  if (missing.length > 0) {
    return { ok: false, problem: `it lacks ${missing.join(', ')}, without which z4j's CLI does not run on a fresh install (z4j 1.8.0 to 1.13.0: "refusing to mint Z4J_SECRET from a management command", or a settings error for the session secret) and the audit chain cannot be verified` };
  }
  return { ok: true, names: [...read.values.keys()].sort(), sha256: z4jReadDigest(read.values) };
}

/**
 * What a restore needs in secret.env: z4j's CLI will not mint Z4J_SECRET from a
 * management command, its settings require the session secret (both seen with
 * `z4j migrate upgrade head` on 1.8.0 and 1.13.0), and the audit chain is
 * signed with the chain secret.
 */
export const Z4J_CLI_NEEDS = ['Z4J_SECRET', 'Z4J_SESSION_SECRET', 'Z4J_AUDIT_CHAIN_SECRET'] as const;

/** One value as z4j reads it (undefined when z4j would refuse the file, or it lacks the key). */
export function z4jSecret(bag: SecretBag | undefined, name: string): string | undefined {
  if (!bag) return undefined;
  const read = readZ4jSecretEnv(bag.raw);
  return read.ok ? read.values.get(name) : undefined;
}
