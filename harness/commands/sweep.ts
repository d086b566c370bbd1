import { ExitCode } from '../errors.ts';
import { ensureEngine } from '../runtime/engine.ts';
import { sweep } from '../runtime/sweep.ts';

export async function sweepCommand(opts: { all?: boolean; out: (l: string) => void }): Promise<number> {
  const engine = await ensureEngine();
  const r = await sweep(engine.docker, { all: opts.all ?? false });
  opts.out(`removed ${r.containers} containers, ${r.networks} networks, ${r.volumes} volumes, ${r.services} services, ${r.secrets} secrets, ${r.workDirs} work folders`);
  for (const n of r.notRemoved) opts.out(`not removed: ${n}`);
  return r.notRemoved.length > 0 ? ExitCode.error : ExitCode.passed;
}
