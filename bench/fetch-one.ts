/**
 * One fetch of an s3:// object in a fresh process (for bench:fetch): prints
 * JSON with its seconds, CPU seconds, sha256 and how much the process grew while the bytes
 * streamed (peak RSS minus the RSS just before the fetch began).
 * Usage: tsx bench/fetch-one.ts s3://BUCKET/KEY TARGET_FILE
 */
import { readFileSync } from 'node:fs';
import { fetchArchive } from '../harness/sources/fetch.ts';
import { S3Source } from '../harness/sources/s3.ts';

const [location, target] = process.argv.slice(2);
if (!location || !target) throw new Error('usage: fetch-one.ts LOCATION TARGET');
const source = new S3Source();
// Load the SDK and make the client first, so what is measured is the streaming.
await source.list(location);
const before = process.memoryUsage().rss;
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const got = await fetchArchive(source, location, target);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
// CPU of every thread of this process while the bytes streamed (user + system).
const cpu = process.cpuUsage(cpu0);
// VmHWM, not getrusage's maxrss: Linux keeps maxrss across exec, so a child
// would report the RSS of the process it was forked from if that was larger.
const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
const peak = hwm ? Number(hwm[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
process.stdout.write(`${JSON.stringify({ seconds, sizeBytes: got.sizeBytes, sha256: got.sha256, rssBefore: before, rssPeak: peak, growth: peak - before, cpuSeconds: (cpu.user + cpu.system) / 1e6 })}\n`);
