import { basename } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { InternalError } from '../errors.ts';
import { DrillReportSchema } from '../report/schema.ts';
import type { RunReport } from '../report/index.ts';
import { DEFAULT_JSON } from '../report/json.ts';
import type { DrillReport } from '../model/types.ts';
import { signEnvelope } from '../evidence/dsse.ts';

/**
 * Drill evidence as in-toto attestations, so that tools no one here wrote can
 * check it: each drilled archive gets two in-toto Statements (v1), each in its
 * own DSSE envelope, one per line of a JSON Lines bundle (`.intoto.jsonl`, the
 * form in-toto attestation bundles take):
 *
 *  1. the in-toto test-result predicate: PASSED only for a passed drill, the
 *     manifest's digest, the image digest and restore-drill's version as its
 *     configuration, the passed and the failed check ids;
 *  2. restore-drill's own drill predicate: the drill's full report (stages,
 *     checks, times), its findings and its recovery time.
 *
 * One statement per drill rather than one for the run: a test result is a
 * result of one thing, and a verifier asks about one archive ("did this backup
 * restore?"), which the subject names by its sha256.
 */
export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const TEST_RESULT_PREDICATE = 'https://in-toto.io/attestation/test-result/v0.1';
/** Ours; `.invalid` like the report schema's $id: a name, not a place to fetch anything from. */
export const DRILL_PREDICATE = 'https://restore-drill.invalid/attestation/drill/v1';

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);
/** An in-toto ResourceDescriptor, as far as restore-drill writes one. */
const Descriptor = z.strictObject({
  name: z.string().min(1),
  digest: z.strictObject({ sha256: Sha256 }).optional(),
  annotations: z.strictObject({ version: z.string() }).optional(),
});
const Subject = z.strictObject({ name: z.string().min(1), digest: z.strictObject({ sha256: Sha256 }) });

export const TestResultSchema = z.strictObject({
  result: z.enum(['PASSED', 'FAILED']),
  configuration: z.array(Descriptor),
  passedTests: z.array(z.string()),
  failedTests: z.array(z.string()),
});

export const DrillPredicateSchema = z.strictObject({
  tool: z.strictObject({ name: z.literal('restore-drill'), version: z.string() }),
  /** The restore stage's time, when it passed: how long a real recovery of this archive took. */
  recoveryTimeMs: z.number().nonnegative().nullable(),
  /** The checks that did not pass, with their reasons: what an auditor reads first. */
  findings: z.array(z.strictObject({ id: z.string(), status: z.enum(['fail', 'error']), reason: z.string() })),
  drill: DrillReportSchema,
});

export const StatementSchema = z.discriminatedUnion('predicateType', [
  z.strictObject({ _type: z.literal(STATEMENT_TYPE), subject: z.array(Subject).length(1), predicateType: z.literal(TEST_RESULT_PREDICATE), predicate: TestResultSchema }),
  z.strictObject({ _type: z.literal(STATEMENT_TYPE), subject: z.array(Subject).length(1), predicateType: z.literal(DRILL_PREDICATE), predicate: DrillPredicateSchema }),
]);
export type Statement = z.infer<typeof StatementSchema>;

/** Where the attestation bundle of a JSON report goes: report.json -> report.intoto.jsonl. */
export function attestationPath(jsonTarget: string | undefined): string {
  return (jsonTarget ?? DEFAULT_JSON).replace(/(\.json)?$/, '.intoto.jsonl');
}

/** The one form a bundle line is written in: compact JSON (verify insists on it). */
export function bundleLine(env: unknown): string {
  return `${JSON.stringify(env)}\n`;
}

/**
 * The two statements of one drill, or none when the archive has no sha256
 * (a drill that ended before reading it, always an error): an in-toto subject
 * must have a digest, and a name alone would attest nothing. Such drills stay in
 * the signed run report (REPORT.dsse.json).
 */
export function drillStatements(drill: DrillReport, toolVersion: string): Statement[] {
  const sha256 = drill.archive.sha256;
  if (!sha256) {
    // Cannot happen (integrity hashes first), and must not pass unattested if it did.
    if (drill.verdict === 'passed') throw new InternalError(`drill ${drill.drillId} passed without an archive sha256`);
    return [];
  }
  const subject = [{ name: drill.archive.file, digest: { sha256 } }];
  const configuration: z.infer<typeof Descriptor>[] = [];
  if (drill.manifest) configuration.push({ name: basename(drill.manifest.path), digest: { sha256: drill.manifest.sha256 } });
  const imageDigest = drill.image?.id.match(/^sha256:([0-9a-f]{64})$/)?.[1];
  if (drill.image && imageDigest) configuration.push({ name: drill.image.tag, digest: { sha256: imageDigest } });
  configuration.push({ name: 'restore-drill', annotations: { version: toolVersion } });
  const restore = drill.stages.find((s) => s.name === 'restore');
  return [
    {
      _type: STATEMENT_TYPE,
      subject,
      predicateType: TEST_RESULT_PREDICATE,
      predicate: {
        // An error is not a pass: in-toto's results are PASSED, WARNED and FAILED, and only a passed drill is PASSED.
        result: drill.verdict === 'passed' ? 'PASSED' : 'FAILED',
        configuration,
        passedTests: drill.checks.filter((c) => c.status === 'pass').map((c) => c.id),
        failedTests: drill.checks.filter((c) => c.status !== 'pass').map((c) => c.id),
      },
    },
    {
      _type: STATEMENT_TYPE,
      subject,
      predicateType: DRILL_PREDICATE,
      predicate: {
        tool: { name: 'restore-drill', version: toolVersion },
        recoveryTimeMs: restore && restore.status === 'passed' ? restore.durationMs : null,
        findings: drill.checks.flatMap((c) => (c.status === 'pass' ? [] : [{ id: c.id, status: c.status, reason: c.reason }])),
        drill,
      },
    },
  ];
}

/** The run's attestation bundle: one signed envelope per line, two per drilled archive, in run order. */
export function signAttestations(run: RunReport, privateKey: KeyObject): { text: string; count: number } {
  const statements = run.drills.flatMap((d) => drillStatements(d, run.tool.version));
  return {
    text: statements.map((s) => bundleLine(signEnvelope(Buffer.from(JSON.stringify(s)), INTOTO_PAYLOAD_TYPE, privateKey))).join(''),
    count: statements.length,
  };
}
