import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keygenCommand, verifyCommand } from '../../harness/commands/evidence.ts';
import { signEnvelope } from '../../harness/evidence/dsse.ts';
import {
  DRILL_PREDICATE, INTOTO_PAYLOAD_TYPE, STATEMENT_TYPE, TEST_RESULT_PREDICATE, attestationPath, bundleLine, drillStatements, signAttestations,
} from '../../harness/attestation/statement.ts';
import { loadPrivateKey } from '../../harness/evidence/keys.ts';
import type { DrillReport } from '../../harness/model/types.ts';
import { sampleRun } from '../helpers/sample-report.ts';

describe('in-toto attestations', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-intoto-'));

  async function verdict(path: string, pub: string): Promise<{ code: number; lines: string[] }> {
    const lines: string[] = [];
    const code = await verifyCommand({ report: path, pubkey: pub, print: (l) => void lines.push(l) });
    return { code, lines };
  }
  async function bundle(): Promise<{ path: string; pub: string; text: string }> {
    await keygenCommand({ out: join(dir, 'k'), force: true, print: () => {} });
    const { text, count } = signAttestations(sampleRun(), loadPrivateKey(join(dir, 'k.key')));
    expect(count).toBe(4);
    const path = join(dir, 'r.intoto.jsonl');
    writeFileSync(path, text);
    return { path, pub: join(dir, 'k.pub'), text };
  }
  const payloads = (text: string) => text.trimEnd().split('\n').map((l) => JSON.parse(Buffer.from((JSON.parse(l) as { payload: string }).payload, 'base64').toString('utf8')) as Record<string, any>);

  it('writes per archive a test result (v0.1) and the drill, about the archive by name and sha256', async () => {
    const { text } = await bundle();
    const [passed, passedDrill, failed, failedDrill] = payloads(text);
    const run = sampleRun();
    expect(passed).toEqual({
      _type: STATEMENT_TYPE,
      subject: [{ name: 'good.db', digest: { sha256: 'a'.repeat(64) } }],
      predicateType: TEST_RESULT_PREDICATE,
      predicate: {
        result: 'PASSED',
        configuration: [
          { name: 'good.db.manifest.json', digest: { sha256: 'c'.repeat(64) } },
          { name: 'restore-drill/z4j:1.13.0-0123456789ab', digest: { sha256: 'b'.repeat(64) } },
          { name: 'restore-drill', annotations: { version: '0.1.0' } },
        ],
        passedTests: ['integrity.sha256', 'compare.count.users'],
        failedTests: [],
      },
    });
    expect(passedDrill).toMatchObject({ subject: passed!.subject, predicateType: DRILL_PREDICATE, predicate: { recoveryTimeMs: 400, findings: [], drill: run.drills[0] } });
    expect(failed!.predicate).toMatchObject({ result: 'FAILED', passedTests: ['integrity.sha256'], failedTests: ['compare.count.users'] });
    expect(failedDrill!.predicate.findings).toEqual([{ id: 'compare.count.users', status: 'fail', reason: 'users: expected 5 rows, observed 4' }]);
    // Every line is one envelope of an in-toto statement.
    for (const l of text.trimEnd().split('\n')) expect(JSON.parse(l)).toMatchObject({ payloadType: INTOTO_PAYLOAD_TYPE });
  });

  it('an error is FAILED; a drill that never hashed its archive is not attested; one that passed without a hash is refused', () => {
    const base = sampleRun().drills[0]!;
    const error: DrillReport = { ...base, verdict: 'error', stages: base.stages.map((s) => (s.name === 'restore' ? { ...s, status: 'error' as const } : s)) };
    const [result, drill] = drillStatements(error, '0.1.0');
    expect(result!.predicate).toMatchObject({ result: 'FAILED' });
    expect(drill!.predicate).toMatchObject({ recoveryTimeMs: null });
    const unhashed = { ...error, archive: { path: '/b/x.db', file: 'x.db' } };
    expect(drillStatements(unhashed, '0.1.0')).toEqual([]);
    expect(() => drillStatements({ ...unhashed, verdict: 'passed' }, '0.1.0')).toThrow(/passed without an archive sha256/);
  });

  it('goes beside the JSON report', () => {
    expect(attestationPath('out/report.json')).toBe('out/report.intoto.jsonl');
    expect(attestationPath(undefined)).toBe('restore-drill-report.intoto.jsonl');
  });

  it('evidence verify reads the bundle and says what each test result vouches for', async () => {
    const { path, pub } = await bundle();
    const v = await verdict(path, pub);
    expect(v.code).toBe(0);
    expect(v.lines[0]).toMatch(/^VERIFIED .* signed by key id [0-9a-f]{64}$/);
    expect(v.lines[1]).toBe('2 in-toto test result(s) with their drills, restore-drill 0.1.0');
    expect(v.lines[2]).toMatch(new RegExp(`^  passed good\\.db sha256 ${'a'.repeat(64)} .* 2/2 checks passed .*, result PASSED$`));
    expect(v.lines[3]).toMatch(/^  failed bad <&> "x"\.db .* 1\/2 checks passed .*, result FAILED$/);
  });

  it('fails, with a reason, when any byte of the bundle changes', async () => {
    const { path, pub, text } = await bundle();
    const original = Buffer.from(text);
    const reasons = new Set<string>();
    for (let i = 0; i < original.length; i += 11) {
      const copy = Buffer.from(original);
      copy[i] = copy[i] === 0x41 ? 0x42 : 0x41;
      writeFileSync(path, copy);
      const v = await verdict(path, pub);
      expect(v.code, `byte ${i}`).toBe(1);
      expect(v.lines[0]).toMatch(/^NOT VERIFIED /);
      reasons.add(v.lines[0]!.replace(/^NOT VERIFIED \S+: (line \d+:? )?/, '').replace(/\(.*$/, ''));
    }
    expect([...reasons].some((r) => r.startsWith('the signature does not match the payload'))).toBe(true);
  });

  it('refuses lines dropped, reordered, added or swapped between bundles, and an empty bundle', async () => {
    const { path, pub, text } = await bundle();
    const lines = text.trimEnd().split('\n').map((l) => `${l}\n`);
    for (const [what, changed, reason] of [
      ['a drill without its test result', lines.slice(1).join(''), /holds 3 statements/],
      ['a test result without its drill', [lines[0], lines[2], lines[3]].join(''), /holds 3 statements/],
      ['the pair swapped', [lines[1], lines[0], lines[2], lines[3]].join(''), /not a test result followed by its drill/],
      ['one archive\'s result beside another\'s drill', [lines[0], lines[3], lines[2], lines[1]].join(''), /the test result does not match its drill/],
      ['nothing', '', /the file is not JSON/],
      ['cut short', text.slice(0, -1), /does not end with a newline/],
    ] as const) {
      writeFileSync(path, changed);
      const v = await verdict(path, pub);
      expect(v.code, what).toBe(1);
      expect(v.lines[0], what).toMatch(reason);
    }
    // Both archives' pairs in the other order are still both whole pairs: that holds.
    writeFileSync(path, [lines[2], lines[3], lines[0], lines[1]].join(''));
    expect((await verdict(path, pub)).code).toBe(0);
  });

  it('refuses a validly signed test result that disagrees with its drill (PASSED beside a failed drill)', async () => {
    const { path, pub, text } = await bundle();
    const key = loadPrivateKey(join(dir, 'k.key'));
    const [, , failed, failedDrill] = payloads(text);
    const sign = (s: unknown) => bundleLine(signEnvelope(Buffer.from(JSON.stringify(s)), INTOTO_PAYLOAD_TYPE, key));
    const lies = [
      { ...failed, predicate: { ...failed!.predicate, result: 'PASSED' } },
      { ...failed, predicate: { ...failed!.predicate, failedTests: [], passedTests: ['integrity.sha256', 'compare.count.users'] } },
      { ...failed, subject: [{ name: 'bad.db', digest: { sha256: 'a'.repeat(64) } }] },
    ];
    for (const lie of lies) {
      writeFileSync(path, sign(lie) + sign(failedDrill));
      const v = await verdict(path, pub);
      expect(v.code).toBe(1);
      expect(v.lines[0]).toMatch(/lines 1-2: the test result does not match its drill/);
    }
    // The untouched pair, signed the same way, holds: only the lie was refused.
    writeFileSync(path, sign(failed) + sign(failedDrill));
    expect((await verdict(path, pub)).code).toBe(0);
    // A statement of another shape (a field the predicate does not have), validly signed: refused by its schema.
    writeFileSync(path, sign({ ...failed, predicate: { ...failed!.predicate, url: 'https://ci.example/1' } }) + sign(failedDrill));
    expect((await verdict(path, pub)).lines[0]).toMatch(/line 1: the signed payload is not a restore-drill in-toto statement \(predicate/);
  });

  it('refuses a bundle line written in another form, or with fields no signature covers', async () => {
    const { path, pub, text } = await bundle();
    const first = JSON.parse(text.split('\n')[0]!) as Record<string, unknown>;
    const rest = text.slice(text.indexOf('\n') + 1);
    writeFileSync(path, `${JSON.stringify(first, null, 1).replace(/\n/g, '')}\n${rest}`);
    expect((await verdict(path, pub)).lines[0]).toMatch(/line 1 was changed \(it is not byte for byte/);
    writeFileSync(path, bundleLine({ ...first, verdict: 'passed' }) + rest);
    expect((await verdict(path, pub)).lines[0]).toMatch(/line 1: the envelope holds fields no signature covers \("verdict"\)/);
  });

  it('still verifies a run report signed before attestations existed (a kept envelope and its public key)', async () => {
    const fixture = resolve('test/unit/fixtures/signed-report-v1');
    const v = await verdict(join(fixture, 'report.dsse.json'), join(fixture, 'evidence.pub'));
    expect(v.code).toBe(0);
    expect(v.lines[0]).toMatch(/^VERIFIED .*report\.dsse\.json: signed by key id [0-9a-f]{64}$/);
    expect(v.lines[1]).toBe('run failed, 2026-11-22T01:00:00.000Z .. 2026-11-22T01:00:10.000Z, restore-drill 0.1.0');
    expect(v.lines.slice(2).map((l) => l.trim().split(' ')[0])).toEqual(['passed', 'failed']);
    // And it is the old form: one indented envelope of the run report.
    const env = JSON.parse(readFileSync(join(fixture, 'report.dsse.json'), 'utf8')) as { payloadType: string };
    expect(env.payloadType).toBe('application/vnd.restore-drill.report.v1+json');
    // Changed by a byte, it no longer holds.
    const copy = join(dir, 'old.dsse.json');
    writeFileSync(copy, readFileSync(join(fixture, 'report.dsse.json'), 'utf8').replace('"payloadType"', '"payloadTyp\\u0065"'));
    expect((await verdict(copy, join(fixture, 'evidence.pub'))).code).toBe(1);
  });
});
