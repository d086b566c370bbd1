import { UsageError } from '../errors.ts';
import { RunReportSchema } from '../report/schema.ts';
import type { ShardReport } from './merge.ts';

/**
 * A shard report's bytes to the report, checked against the report schema:
 * merge takes only what `run --shard` writes. Anything else (not JSON, another
 * shape, a report of a whole run with no shard block) is refused naming where
 * it was read.
 */
export function parseShardReport(bytes: Buffer, where: string): ShardReport {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new UsageError(`merge: ${where} is not JSON: merge takes the reports of "run --shard I/N"`, 'RD_REPORT_INVALID');
  }
  const parsed = RunReportSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new UsageError(`merge: ${where} is not a restore-drill report (${first ? `${first.path.join('.') || 'top'}: ${first.message}` : 'schema'})`, 'RD_REPORT_INVALID');
  }
  if (!parsed.data.shard) throw new UsageError(`merge: ${where} is the report of a whole run, not of a shard (no "shard" block): merge takes the reports of "run --shard I/N"`, 'RD_REPORT_INVALID');
  if (parsed.data.shard.index > parsed.data.shard.count) throw new UsageError(`merge: ${where}: shard ${parsed.data.shard.index}/${parsed.data.shard.count} does not exist`, 'RD_REPORT_INVALID');
  return parsed.data as ShardReport;
}
