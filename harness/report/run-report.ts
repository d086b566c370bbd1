import type { DrillReport } from '../model/types.ts';

/** The result of one `restore-drill run`: what the JSON reporter writes (schema/report.schema.json). */
export interface RunReport {
  tool: { name: 'restore-drill'; version: string };
  status: 'passed' | 'failed' | 'error' | 'interrupted';
  startedAt: string;
  finishedAt: string;
  drills: DrillReport[];
}
