import { runCommand, type RunOptions } from './run.ts';

export interface GateOptions extends Omit<RunOptions, 'archives' | 'upgradeTo' | 'selection'> {
  /** An archive, or a folder: its newest archive is gated. */
  archive: string;
  toVersion: string;
}

/**
 * "Will the latest backup survive the upgrade?": the archive is drilled with
 * its own version (must pass), then the target version upgrades the restored
 * data with its own migration path and everything is checked again.
 */
export async function gateCommand(opts: GateOptions): Promise<number> {
  const { archive, toVersion, ...rest } = opts;
  return runCommand({ ...rest, archives: [archive], selection: { latest: 1 }, upgradeTo: toVersion, jobs: 1 });
}
