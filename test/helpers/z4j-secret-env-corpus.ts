import fc from 'fast-check';

/**
 * secret.env files z4j reads, reads differently or refuses: the unit test
 * holds scenarios/z4j/secret-env.ts to the outcome stated for each, and the
 * container test holds it to z4j 1.13.0's own reader (z4j_brain.secret_store
 * `_parse_document`) on every one of them and on generated files.
 */
export interface SecretEnvCase {
  name: string;
  text: string | Buffer;
  /** z4j reads these names and values, or refuses the file (a pattern of the reason). */
  expect: Record<string, string> | RegExp;
}

const A = 'Z4J_AUDIT_CHAIN_SECRET';
const S = 'Z4J_SECRET';
export const ORIGINAL = `${S}=secret-one-abcdef\n${A}=chain-secret-ghijkl\nZ4J_SESSION_SECRET=session-mnopqr\n`;
export const ORIGINAL_VALUES = { [S]: 'secret-one-abcdef', [A]: 'chain-secret-ghijkl', Z4J_SESSION_SECRET: 'session-mnopqr' };

export const SECRET_ENV_CASES: SecretEnvCase[] = [
  { name: 'as z4j writes it', text: ORIGINAL, expect: ORIGINAL_VALUES },
  { name: 'CRLF line ends', text: ORIGINAL.replace(/\n/g, '\r\n'), expect: ORIGINAL_VALUES },
  { name: 'old Mac CR line ends', text: ORIGINAL.replace(/\n/g, '\r'), expect: ORIGINAL_VALUES },
  { name: 'comments and blank lines', text: `# z4j secrets\n\n${ORIGINAL.replace('\n', '\n   # indented comment\n\n')}\n\n`, expect: ORIGINAL_VALUES },
  { name: 'spaces and tabs around "=" and at line ends', text: ` ${S} = secret-one-abcdef \t\n\t${A}\t=\tchain-secret-ghijkl\nZ4J_SESSION_SECRET= session-mnopqr   \n`, expect: ORIGINAL_VALUES },
  { name: 'the same lines in another order', text: `Z4J_SESSION_SECRET=session-mnopqr\n${A}=chain-secret-ghijkl\n${S}=secret-one-abcdef`, expect: ORIGINAL_VALUES },
  { name: 'no final line break', text: ORIGINAL.trimEnd(), expect: ORIGINAL_VALUES },
  { name: 'quotes are part of the value', text: `${A}="chain-secret-ghijkl"\n${S}='x y'\n`, expect: { [A]: '"chain-secret-ghijkl"', [S]: "'x y'" } },
  { name: 'a value holding "=" and "#"', text: `${A}=a=b#c==\n`, expect: { [A]: 'a=b#c==' } },
  { name: 'Python line breaks: vertical tab, form feed, \\x1c, NEL, U+2028', text: `${S}=one\v${A}=two\f#c\x1cZ4J_SESSION_SECRET=three\x85Z4J_METRICS_AUTH_TOKEN=four\u2028`, expect: { [S]: 'one', [A]: 'two', Z4J_SESSION_SECRET: 'three', Z4J_METRICS_AUTH_TOKEN: 'four' } },
  { name: 'Python whitespace stripped: \\x1f, NBSP, ideographic space', text: `${A}=\x1f\xa0chain\u3000\n`, expect: { [A]: 'chain' } },
  { name: 'a zero-width no-break space inside a value is kept (not whitespace to Python)', text: `${A}=chain\ufeff\n`, expect: { [A]: 'chain\ufeff' } },
  { name: 'an empty file', text: '', expect: {} },
  { name: 'only comments', text: '# nothing\n\n', expect: {} },
  { name: 'export prefix', text: `export ${A}=chain-secret-ghijkl\n`, expect: /line 1 contains unsupported key "export Z4J_AUDIT_CHAIN_SECRET" \(remove the "export " prefix\)/ },
  { name: 'an unknown key', text: `${A}=x\nDATABASE_URL=postgres://u@h/db\n`, expect: /line 2 contains unsupported key "DATABASE_URL"/ },
  { name: 'lower-case key', text: 'z4j_secret=x\n', expect: /line 1 contains unsupported key "z4j_secret"/ },
  { name: 'a line without "="', text: `${A}=x\n\njust words\n`, expect: /line 3 is malformed \(missing '='\)/ },
  { name: 'a duplicate key', text: `${A}=x\n${A}=y\n`, expect: /duplicate key Z4J_AUDIT_CHAIN_SECRET \(line 2\)/ },
  { name: 'an empty value', text: `${A}=   \n`, expect: /key Z4J_AUDIT_CHAIN_SECRET has an empty value/ },
  { name: 'a NUL in a value', text: `${A}=a\0b\n`, expect: /contains a NUL byte/ },
  { name: 'a UTF-8 byte-order mark (kept by Python, so the first key is unknown)', text: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(ORIGINAL)]), expect: /line 1 contains unsupported key/ },
  { name: 'invalid UTF-8', text: Buffer.concat([Buffer.from(`${A}=`), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]), expect: /not valid UTF-8/ },
  { name: 'an encoded surrogate (invalid UTF-8 to Python)', text: Buffer.concat([Buffer.from(`${A}=`), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('\n')]), expect: /not valid UTF-8/ },
  { name: 'larger than 128 KiB', text: `${A}=${'x'.repeat(128 * 1024)}\n`, expect: /exceeds the 128 KiB/ },
];

/**
 * Generated files: lines of KEY=VALUE (known keys mostly, some unknown or
 * prefixed), comments and blank lines, with every kind of space around the
 * parts and every kind of line break between lines, values drawn from the
 * characters that matter (quotes, "=", "#", spaces, NUL, BOM, non-ASCII).
 */
export function generatedSecretEnvs(n: number, seed: number): Buffer[] {
  const space = fc.constantFrom('', '', ' ', '\t', '\x1f', '\xa0', '\u3000', '\ufeff', '\v');
  const brk = fc.constantFrom('\n', '\n', '\r\n', '\r', '\v', '\f', '\x1c', '\x85', '\u2028', '\u2029');
  const key = fc.constantFrom('Z4J_SECRET', 'Z4J_AUDIT_CHAIN_SECRET', 'Z4J_SESSION_SECRET', 'Z4J_METRICS_AUTH_TOKEN', 'Z4J_AUDIT_CHAIN_PREVIOUS_SECRETS', 'export Z4J_SECRET', 'OTHER');
  const value = fc.array(fc.constantFrom('a', 'b', 'Z', '0', '"', "'", '=', '#', ' ', '\t', 'é', '\0', '\ufeff', '\x1f'), { maxLength: 10 }).map((v) => v.join(''));
  const line = fc.oneof(
    { arbitrary: fc.tuple(space, key, space, space, value, space).map(([a, k, b, c, v, d]) => `${a}${k}${b}=${c}${v}${d}`), weight: 6 },
    { arbitrary: fc.tuple(space, value).map(([a, v]) => `${a}#${v}`), weight: 1 },
    { arbitrary: space, weight: 1 },
    { arbitrary: value, weight: 1 },
  );
  const file = fc.array(fc.tuple(line, brk), { maxLength: 6 }).map((ls) => Buffer.from(ls.map(([l, b]) => l + b).join('')));
  return fc.sample(file, { numRuns: n, seed });
}
