import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DrillReport } from '../drill/types.ts';

export interface RunReport {
  tool: { name: 'restore-drill'; version: string };
  status: 'passed' | 'failed' | 'error' | 'interrupted';
  startedAt: string;
  finishedAt: string;
  drills: DrillReport[];
}

export async function writeJsonReport(path: string, report: RunReport): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`, { mode: 0o644 });
}
