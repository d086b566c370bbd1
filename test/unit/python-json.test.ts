import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { pythonCanonicalJson } from '../../harness/checks/python-json.ts';

/** What CPython itself prints for json.dumps(json.loads(text), sort_keys=True, separators=(",",":"), ensure_ascii=False). */
function python(texts: string[]): string[] {
  const code =
    'import json,sys\nfor t in json.load(sys.stdin):\n    print(json.dumps(json.dumps(json.loads(t), sort_keys=True, separators=(",",":"), ensure_ascii=False)))';
  const r = spawnSync('python3', ['-c', code], { input: JSON.stringify(texts), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as string);
}

const cases = [
  '{}',
  '{"b": 1, "a": [1, 2, {"d": null, "c": true}]}',
  '{"f": 1.0, "g": 0.5, "h": 1e-07, "i": 1E+16, "j": 123456789012345678901234567890, "k": -0, "l": -0.0, "m": 2.5e-5, "n": 1e16, "o": 0.0001, "p": 123.456e3}',
  '{"s": "caf\\u00e9 \\u2603 \\ud83d\\ude00 tab\\t nl\\n ctl\\u0001 quote\\" slash\\/ bs\\\\ del\\u007f"}',
  '{"\\u00e9": 1, "z": 2, "\\ud83d\\ude00": 3, "\\uffff": 4, "A": 5}',
  '[1.5, "1.5", {"x": [0.1, 0.2, 0.30000000000000004]}]',
  '{"dup": 1, "dup": 2}',
  '{"a": 2.5, "b": [0.05, 1.5e3, 3.0, 10.00, 7e0], "c": "1.0 in a string", "d": 9007199254740993}',
  '{"seq": 282, "note": "ok", "nested": {"b": [1, 2.5, true, null], "a": "x"}}',
  '{"plain": "日本語 text, no escapes", "Z": "upper before lower", "a b": "", "10": 1, "9": 2, "\u2028": "line separator kept raw"}',
];

describe('Python-canonical JSON', () => {
  it('matches CPython byte for byte', () => {
    expect(cases.map(pythonCanonicalJson)).toEqual(python(cases));
  });
});
