import { z } from 'zod';

/**
 * The JSON report's schema (schema/report.schema.json is generated from it),
 * for tools that read reports. Tests validate real reports against it.
 */
const Check = z.object({
  id: z.string(),
  stage: z.enum(['plan', 'fetch', 'integrity', 'inspect', 'provision', 'restore', 'probe', 'compare', 'upgrade', 'post-upgrade']),
  status: z.enum(['pass', 'fail', 'error']),
  reason: z.string(),
  expected: z.unknown().optional(),
  observed: z.unknown().optional(),
});

const Stage = z.object({
  name: Check.shape.stage,
  status: z.enum(['passed', 'failed', 'error', 'skipped']),
  durationMs: z.number().nonnegative(),
  /** Bytes the stage moved (fetch: the archive's bytes received). */
  bytes: z.number().int().nonnegative().optional(),
});

export const DrillReportSchema = z.object({
  drillId: z.string(),
  profile: z.string(),
  archive: z.object({
    path: z.string(),
    file: z.string(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
    sizeBytes: z.number().int().nonnegative().optional(),
    createdAt: z.string().optional(),
    /** Where the bytes were fetched from (s3, restic, rclone): display form, never a credential; version id, ETag or snapshot id. */
    source: z.object({ kind: z.string(), location: z.string(), version: z.string().optional() }).optional(),
  }),
  /** The manifest the drill was held against: its path and the sha256 of its exact bytes. */
  manifest: z.object({ path: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }).optional(),
  app: z.object({ name: z.string(), version: z.string() }).optional(),
  image: z.object({ tag: z.string(), id: z.string(), cacheHit: z.boolean() }).optional(),
  upgrade: z.object({ toVersion: z.string(), image: z.object({ tag: z.string(), id: z.string(), cacheHit: z.boolean() }).optional() }).optional(),
  verdict: z.enum(['passed', 'failed', 'error']),
  summary: z.string(),
  stages: z.array(Stage),
  checks: z.array(Check),
  notes: z.array(z.string()).optional(),
  /** Recovery time: the drill's start until the restored application's first probe check answered; the budget it was held to. */
  recovery: z
    .object({
      ms: z.number().nonnegative().optional(),
      budgetMs: z.number().positive().optional(),
      budgetFrom: z.enum(['manifest', 'command line']).optional(),
      warnOnly: z.boolean().optional(),
      longestStage: Check.shape.stage.optional(),
    })
    .optional(),
  /** Where the drill ran: $RESTORE_DRILL_NODE or the host name. */
  node: z.string().optional(),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number().nonnegative(),
});

export const RunReportSchema = z.object({
  tool: z.object({ name: z.literal('restore-drill'), version: z.string() }),
  status: z.enum(['passed', 'failed', 'error', 'interrupted']),
  startedAt: z.string(),
  finishedAt: z.string(),
  drills: z.array(DrillReportSchema),
  /** A worker's report of one shard (run --shard I/N); index is 1-based; selection is the whole run's, in deal order. */
  shard: z
    .object({
      runId: z.string().min(1),
      index: z.number().int().positive(),
      count: z.number().int().positive(),
      selection: z.array(z.string()),
      node: z.string().optional(),
    })
    .optional(),
  /** A report merged from shard reports: the shards that reported and those that never did (their archives are error drills). */
  merged: z
    .object({
      runId: z.string().min(1),
      count: z.number().int().positive(),
      reported: z.array(z.object({ index: z.number().int().positive(), node: z.string().optional() })),
      lost: z.array(z.object({ index: z.number().int().positive(), reason: z.string() })),
    })
    .optional(),
});

export function reportJsonSchema(): Record<string, unknown> {
  return { $id: 'https://restore-drill.invalid/schema/report-v1.json', title: 'restore-drill run report', ...z.toJSONSchema(RunReportSchema) };
}
