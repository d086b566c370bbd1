/**
 * One fetch of an s3:// or restic: location in a fresh process (for
 * bench:fetch): prints JSON with its seconds, CPU seconds, sha256 and how much
 * the process grew while the bytes streamed (peak RSS minus the RSS just
 * before the fetch began). A restic: fetch runs the restic CLI as a child: its
 * CPU is counted in (the kernel's figure for reaped children) and its peak RSS
 * is reported apart (`childPeak`, its VmHWM sampled every 100 ms).
 * Usage: tsx bench/fetch-one.ts LOCATION TARGET_FILE
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fetchArchive } from '../harness/sources/fetch.ts';
import { sourceFor } from '../harness/sources/source-for.ts';

const [location, target] = process.argv.slice(2);
if (!location || !target) throw new Error('usage: fetch-one.ts LOCATION TARGET');
const source = sourceFor(location);
if (!source) throw new Error(`not an off-host location: ${location}`);
// Load the SDK and make the client first (S3), so what is measured is the
// streaming; for restic the listing the fetch repeats is part of its work.
if (source.kind === 's3') await source.list(location);
const before = process.memoryUsage().rss;
const cpu0 = process.cpuUsage();
const child0 = childCpu();
let childPeak = 0;
const sampler = setInterval(() => {
  childPeak = Math.max(childPeak, childrenHwm());
}, 100);
const t0 = process.hrtime.bigint();
const got = await fetchArchive(source, location, target);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
clearInterval(sampler);
// CPU of every thread of this process while the bytes streamed (user + system),
// plus that of the children it ran and reaped meanwhile (restic).
const cpu = process.cpuUsage(cpu0);
const children = childCpu() - child0;
// VmHWM, not getrusage's maxrss: Linux keeps maxrss across exec, so a child
// would report the RSS of the process it was forked from if that was larger.
const peak = hwm('/proc/self/status') || process.resourceUsage().maxRSS * 1024;
process.stdout.write(
  `${JSON.stringify({ seconds, sizeBytes: got.sizeBytes, sha256: got.sha256, rssBefore: before, rssPeak: peak, growth: peak - before, cpuSeconds: (cpu.user + cpu.system) / 1e6 + children, childPeak })}\n`,
);

function hwm(statusFile: string): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(statusFile, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0; // the child exited between listing and reading
  }
}

/** The largest VmHWM among this process's live children. */
function childrenHwm(): number {
  let max = 0;
  for (const task of readdirSync('/proc/self/task')) {
    let pids: string[] = [];
    try {
      pids = readFileSync(`/proc/self/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    } catch {
      continue;
    }
    for (const pid of pids) max = Math.max(max, hwm(`/proc/${pid}/status`));
  }
  return max;
}

/** cutime + cstime of /proc/self/stat in seconds (clock ticks of 1/100 s on Linux). */
function childCpu(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ", field 3 (state) is index 0: cutime and cstime are fields 16 and 17.
  return (Number(fields[13]) + Number(fields[14])) / 100;
}
