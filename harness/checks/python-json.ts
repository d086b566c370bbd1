import { DrillError } from '../errors.ts';
/**
 * Python's `json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`
 * of the value `json.loads(text)` gives, reproduced byte for byte: applications
 * written in Python sign that text, so an independent check must rebuild it
 * exactly. JavaScript's own JSON differs in number formatting (1.0 vs 1, 1e-07
 * vs 1e-7, big integers), so numbers are kept as their source text and re-emitted
 * the way Python would.
 */
export function pythonCanonicalJson(text: string): string {
  // Fast path: JSON.parse is exact unless a number is an integral-valued float
  // literal ("1.0", "2e3": Python keeps them floats, JavaScript makes them
  // integers) or too long for a double. The test is on the whole text, strings
  // included, so it can only send harmless texts down the slow path.
  if (!/[0-9]\.0*(?![0-9])|[0-9][eE]|[0-9]{16}/.test(text)) return emit(JSON.parse(text) as Json);
  const p = new Parser(text);
  const v = p.value();
  p.end();
  return emit(v);
}

type Json = null | boolean | string | number | PyNumber | Json[] | { [k: string]: Json };

/** A number as its JSON source text, so it can be re-emitted as Python would. */
class PyNumber {
  constructor(readonly source: string) {}
  toPython(): string {
    if (!/[.eE]/.test(this.source)) return BigInt(this.source).toString(); // Python int: exact, "-0" -> "0"
    return pythonFloatRepr(Number(this.source));
  }
}

/** Python's repr(float): shortest round-trip digits, fixed for 1e-4 <= |x| < 1e16, else d.ddde±XX. */
export function pythonFloatRepr(x: number): string {
  if (!Number.isFinite(x)) throw new DrillError(`Python's json refuses ${x} here (allow_nan=False)`, 'RD_UNREADABLE_DATA');
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  // Both languages print the shortest round-trip digits; for a non-integral value
  // between 1e-4 and 1e16 both print them in fixed notation, identically.
  const a = Math.abs(x);
  if (a >= 1e-4 && a < 1e16 && !Number.isInteger(x)) return String(x);
  const [mant, expStr] = x.toExponential().split('e') as [string, string];
  const exp = Number(expStr);
  if (exp >= -4 && exp < 16) {
    // Fixed notation with at least one digit after the point.
    const digits = mant.replace('-', '').replace('.', '');
    const neg = x < 0 ? '-' : '';
    let s: string;
    if (exp < 0) s = `0.${'0'.repeat(-exp - 1)}${digits}`;
    else if (digits.length <= exp + 1) s = `${digits}${'0'.repeat(exp + 1 - digits.length)}.0`;
    else s = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
    return neg + s;
  }
  return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

function emit(v: Json): string {
  // Plain loops and concatenation: the chain walk runs this once per row.
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string': return pyString(v);
    case 'number': return Number.isInteger(v) ? String(v) : pythonFloatRepr(v);
    case 'boolean': return v ? 'true' : 'false';
  }
  if (v instanceof PyNumber) return v.toPython();
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) out += `${i ? ',' : ''}${emit(v[i]!)}`;
    return `${out}]`;
  }
  const keys = Object.keys(v);
  if (keys.length > 1) {
    // UTF-16 order (the default sort) is code point order unless a key holds a unit from U+D800 up.
    let high = false;
    for (const k of keys) {
      if (HIGH_UNITS.test(k)) {
        high = true;
        break;
      }
    }
    if (high) keys.sort(codePointCompare);
    else keys.sort();
  }
  let out = '{';
  for (let i = 0; i < keys.length; i++) out += `${i ? ',' : ''}${pyString(keys[i]!)}:${emit(v[keys[i]!]!)}`;
  return `${out}}`;
}

const HIGH_UNITS = /[\ud800-\uffff]/;
/** What JSON.stringify would change in a string: the quote, the backslash, control characters, surrogates. */
const NEEDS_STRINGIFY = /["\\\u0000-\u001f\ud800-\udfff]/;

/** ensure_ascii=False: only the quote, the backslash and control characters are escaped. */
export function pyString(s: string): string {
  // JSON.stringify escapes the same set, except lone surrogates (Python would
  // leave them raw, and then fail to encode them as UTF-8 anyway). Plain text
  // is quoted as it is, without the call.
  return NEEDS_STRINGIFY.test(s) ? JSON.stringify(s) : `"${s}"`;
}

/** Python sorts str by code point; JavaScript's default sort by UTF-16 unit. */
function codePointCompare(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(i)!;
    if (ca !== cb) return ca - cb;
    if (ca > 0xffff) i++;
  }
  return a.length - b.length;
}

class Parser {
  #i = 0;
  constructor(readonly s: string) {}

  end(): void {
    this.ws();
    if (this.#i !== this.s.length) throw new SyntaxError(`unexpected text at ${this.#i}`);
  }

  value(): Json {
    this.ws();
    const c = this.s[this.#i];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === 't') return this.literal('true', true);
    if (c === 'f') return this.literal('false', false);
    if (c === 'n') return this.literal('null', null);
    return this.number();
  }

  object(): Json {
    const out: { [k: string]: Json } = {};
    this.#i++;
    this.ws();
    if (this.s[this.#i] === '}') return this.#i++, out;
    for (;;) {
      this.ws();
      const k = this.string();
      this.ws();
      this.expect(':');
      out[k] = this.value(); // a duplicate key keeps the last value, as Python does
      this.ws();
      if (this.s[this.#i] === ',') this.#i++;
      else return this.expect('}'), out;
    }
  }

  array(): Json {
    const out: Json[] = [];
    this.#i++;
    this.ws();
    if (this.s[this.#i] === ']') return this.#i++, out;
    for (;;) {
      out.push(this.value());
      this.ws();
      if (this.s[this.#i] === ',') this.#i++;
      else return this.expect(']'), out;
    }
  }

  string(): string {
    const m = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
    m.lastIndex = this.#i;
    const r = m.exec(this.s);
    if (!r) throw new SyntaxError(`bad string at ${this.#i}`);
    this.#i = m.lastIndex;
    return JSON.parse(r[0]) as string;
  }

  number(): PyNumber {
    const m = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
    m.lastIndex = this.#i;
    const r = m.exec(this.s);
    if (!r) throw new SyntaxError(`bad value at ${this.#i}`);
    this.#i = m.lastIndex;
    return new PyNumber(r[0]);
  }

  literal<T extends Json>(word: string, v: T): T {
    if (!this.s.startsWith(word, this.#i)) throw new SyntaxError(`bad literal at ${this.#i}`);
    this.#i += word.length;
    return v;
  }

  expect(ch: string): void {
    if (this.s[this.#i] !== ch) throw new SyntaxError(`expected ${ch} at ${this.#i}`);
    this.#i++;
  }

  ws(): void {
    for (;;) {
      const c = this.s.charCodeAt(this.#i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.#i++;
    }
  }
}
