/**
 * npm run bench:fetch — fetchArchive of an s3:// object against `rclone cat`
 * and `restic dump` of the same bytes from the same server, side by side.
 *
 * 1. A real SeaweedFS on 127.0.0.1 (as the source tests start it) and one
 *    object of BENCH_FETCH_GIB GiB (default 2) of incompressible bytes, put
 *    there by rclone (multipart); the same bytes backed up by restic into a
 *    repository on the same server (s3:http://127.0.0.1:PORT/restic/repo,
 *    its password through RESTIC_PASSWORD_FILE).
 * 2. BENCH_RUNS (default 3) rounds, alternating: the fetch (our S3 source
 *    through @aws-sdk/client-s3, sha256 while it arrives, into a file) in a
 *    fresh process, then `rclone cat OBJECT > file`, then a peer doing the
 *    fetch's whole work (`rclone cat OBJECT | tee file | openssl dgst -sha256`:
 *    rclone cat does not hash; openssl uses the CPU's SHA instructions as
 *    Node's crypto does, coreutils' sha256sum does not and is 3-4x slower).
 *    Each run's seconds, CPU seconds (user + system, all threads and
 *    processes of that command) and memory (the fetching process's growth
 *    while streaming; rclone's and restic's peak RSS). Then, still
 *    alternating, `restic dump SNAPSHOT PATH > file` and our fetch of the same
 *    file through a restic: location (restic dump inside the source, sha256
 *    while it arrives, into a file).
 * 3. Medians, throughput in MiB/s, and the fetch's throughput as a ratio of
 *    each peer's (target: at least 0.9x the peer's, with memory flat): the
 *    s3:// fetch against rclone cat, the same-work peer and restic dump; the
 *    restic: fetch against restic dump (the target read for restic sources). On a
 *    machine whose cores are busy, throughput follows CPU per byte, so the
 *    CPU seconds per GiB are printed beside it.
 * Prints figures; asserts nothing about time (shared machines are noisy).
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { sha256File } from '../harness/archive/hash.ts';
import { rcloneWeedEnv, startSeaweed } from '../test/helpers/seaweed.ts';
import { ensureDebianTool } from '../test/helpers/source-tools.ts';

const GIB = Number(process.env.BENCH_FETCH_GIB ?? 2);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const MIB = 1024 * 1024;
const size = Math.round(GIB * 1024) * MIB;

ensureDebianTool('rclone');
ensureDebianTool('restic');
const dir = mkdtempSync(join(tmpdir(), 'rd-bench-fetch-'));
const weed = await startSeaweed();
try {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ENDPOINT_URL_S3: weed.endpoint,
    AWS_ACCESS_KEY_ID: weed.accessKey,
    AWS_SECRET_ACCESS_KEY: weed.secretKey,
    AWS_CONFIG_FILE: join(dir, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
    RCLONE_CONFIG: join(dir, 'rclone.conf'),
    ...rcloneWeedEnv(weed),
  };
  // rclone's S3 client cannot take a CA bundle with its own transport, and
  // the loopback endpoint is plain http anyway.
  delete env.AWS_CA_BUNDLE;
  await weed.client.send(new CreateBucketCommand({ Bucket: 'bench' }));

  // Incompressible bytes: a random 16 MiB block, each copy made different by its index.
  const local = join(dir, 'object.bin');
  const block = randomBytes(16 * MIB);
  const fd = openSync(local, 'w');
  const expect = createHash('sha256');
  for (let off = 0, i = 0; off < size; off += block.length, i++) {
    block.writeUInt32LE(i, 0);
    const part = block.subarray(0, Math.min(block.length, size - off));
    writeSync(fd, part);
    expect.update(part);
  }
  closeSync(fd);
  const sha = expect.digest('hex');
  const up = spawnSync('rclone', ['copyto', local, 'weed:bench/object.bin'], { env, stdio: 'inherit' });
  if (up.status !== 0) throw new Error(`rclone copyto failed (exit ${up.status})`);

  // The same bytes in a restic repository on the same server; the password
  // from a file restic reads (RESTIC_PASSWORD_FILE), never an argument.
  await weed.client.send(new CreateBucketCommand({ Bucket: 'restic' }));
  const repo = `s3:${weed.endpoint}/restic/repo`;
  writeFileSync(join(dir, 'restic-password'), `bench-${randomBytes(8).toString('hex')}\n`, { mode: 0o600 });
  env.RESTIC_PASSWORD_FILE = join(dir, 'restic-password');
  env.RESTIC_CACHE_DIR = join(dir, 'restic-cache');
  delete env.RESTIC_PASSWORD_COMMAND;
  delete env.RESTIC_REPOSITORY_FILE;
  // For the plain restic commands; our restic source sets its own from the location.
  env.RESTIC_REPOSITORY = repo;
  for (const args of [['init'], ['backup', '--host', 'bench', local]]) {
    const r = spawnSync('restic', ['--quiet', ...args], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error(`restic ${args[0]} failed (exit ${r.status})`);
  }
  const snaps = JSON.parse(spawnSync('restic', ['--quiet', 'snapshots', '--json'], { env, encoding: 'utf8' }).stdout) as Array<{ id: string }>;
  const snapshot = snaps[0]!.id;
  const inRestic = `restic:${repo}#${snapshot}:${local}`;
  rmSync(local);
  console.log(`object: ${GIB} GiB (${size} bytes) on SeaweedFS at 127.0.0.1, and in restic snapshot ${snapshot.slice(0, 8)} on the same server; ${RUNS} runs each, alternating`);

  const ours: Array<{ seconds: number; growth: number; cpu: number }> = [];
  const peer: Array<{ seconds: number; peak: number; cpu: number }> = [];
  const peerHashed: Array<{ seconds: number; cpu: number }> = [];
  const dump: Array<{ seconds: number; peak: number; cpu: number }> = [];
  const oursRestic: Array<{ seconds: number; growth: number; cpu: number; childPeak: number }> = [];
  const target = join(dir, 'fetched.bin');
  const fetchOne = (location: string) => {
    const one = spawnSync('npx', ['tsx', join(import.meta.dirname, 'fetch-one.ts'), location, target], { env, encoding: 'utf8' });
    if (one.status !== 0) throw new Error(`fetch failed: ${one.stderr}`);
    const m = JSON.parse(one.stdout.trim().split('\n').at(-1)!) as { seconds: number; sha256: string; sizeBytes: number; growth: number; rssPeak: number; cpuSeconds: number; childPeak: number };
    if (m.sha256 !== sha || m.sizeBytes !== size) throw new Error(`the fetch of ${location.split(':')[0]} brought other bytes than were put`);
    rmSync(target);
    return m;
  };
  for (let r = 0; r < RUNS; r++) {
    const m = fetchOne('s3://bench/object.bin');
    ours.push({ seconds: m.seconds, growth: m.growth, cpu: m.cpuSeconds });

    // rclone cat into a file, timed and measured by a small wrapper (its peak RSS
    // from the kernel's rusage of children: a small Python forks it, so the
    // maxrss carried across exec is Python's few MiB at most).
    const timed = (out: string, cmd: string[]) => {
      const wrap = spawnSync(
        'python3',
        ['-c', 'import resource,subprocess,sys,time,json\nt=time.monotonic()\nr=subprocess.run(sys.argv[2:],stdout=open(sys.argv[1],"wb"))\nu=resource.getrusage(resource.RUSAGE_CHILDREN)\nprint(json.dumps({"exit":r.returncode,"seconds":time.monotonic()-t,"peakKiB":u.ru_maxrss,"cpu":u.ru_utime+u.ru_stime}))', out, ...cmd],
        { env, encoding: 'utf8' },
      );
      const p = JSON.parse(wrap.stdout.trim()) as { exit: number; seconds: number; peakKiB: number; cpu: number };
      if (p.exit !== 0) throw new Error(`${cmd.join(' ')} failed: ${wrap.stderr}`);
      return p;
    };
    const p = timed(target, ['rclone', 'cat', 'weed:bench/object.bin']);
    // The peer must have brought the same bytes for its figure to mean anything (checked outside its time).
    const peerSha = await sha256File(target);
    if (peerSha !== sha) throw new Error('rclone cat brought other bytes than were put');
    rmSync(target);
    peer.push({ seconds: p.seconds, peak: p.peakKiB * 1024, cpu: p.cpu });
    // The same work as the fetch: rclone cat does not hash, so the peer is also
    // timed delivering the file and its sha256 (openssl in its own process).
    const shaOut = join(dir, 'peer.sha256');
    const h = timed(shaOut, ['sh', '-c', 'rclone cat "$0" | tee "$1" | openssl dgst -sha256 -r', 'weed:bench/object.bin', target]);
    if (!readFileSync(shaOut, 'utf8').startsWith(sha) || (await sha256File(target)) !== sha) throw new Error('rclone cat | tee | openssl brought other bytes than were put');
    rmSync(target);
    peerHashed.push({ seconds: h.seconds, cpu: h.cpu });
    // restic dump of the same bytes into a file (no lock, as our restic source reads).
    const d = timed(target, ['restic', '--no-lock', '--quiet', 'dump', snapshot, local]);
    if ((await sha256File(target)) !== sha) throw new Error('restic dump brought other bytes than were put');
    rmSync(target);
    dump.push({ seconds: d.seconds, peak: d.peakKiB * 1024, cpu: d.cpu });
    const q = fetchOne(inRestic);
    oursRestic.push({ seconds: q.seconds, growth: q.growth, cpu: q.cpuSeconds, childPeak: q.childPeak });
    console.log(
      `run ${r + 1}: fetch ${mibs(size, m.seconds)} MiB/s, ${perGib(m.cpuSeconds)} CPU-s/GiB (grew ${(m.growth / MIB).toFixed(1)} MiB, peak RSS ${(m.rssPeak / MIB).toFixed(0)} MiB)` +
        ` | rclone cat ${mibs(size, p.seconds)} MiB/s, ${perGib(p.cpu)} CPU-s/GiB (peak RSS ${(p.peakKiB / 1024).toFixed(0)} MiB)` +
        ` | rclone cat | tee | openssl sha256 ${mibs(size, h.seconds)} MiB/s, ${perGib(h.cpu)} CPU-s/GiB` +
        ` | restic dump ${mibs(size, d.seconds)} MiB/s, ${perGib(d.cpu)} CPU-s/GiB (peak RSS ${(d.peakKiB / 1024).toFixed(0)} MiB)` +
        ` | fetch restic: ${mibs(size, q.seconds)} MiB/s, ${perGib(q.cpuSeconds)} CPU-s/GiB with restic's (grew ${(q.growth / MIB).toFixed(1)} MiB, restic's peak RSS ${(q.childPeak / MIB).toFixed(0)} MiB)`,
    );
  }
  const ourS = median(ours.map((o) => o.seconds));
  const peerS = median(peer.map((o) => o.seconds));
  const hashedS = median(peerHashed.map((o) => o.seconds));
  console.log(`median: fetch ${mibs(size, ourS)} MiB/s, rclone cat ${mibs(size, peerS)} MiB/s, ratio ${(peerS / ourS).toFixed(2)}x (target >= 0.9x)`);
  console.log(`same work (file plus sha256): rclone cat | tee | openssl sha256 ${mibs(size, hashedS)} MiB/s, ratio ${(hashedS / ourS).toFixed(2)}x`);
  const dumpS = median(dump.map((o) => o.seconds));
  const oursResticS = median(oursRestic.map((o) => o.seconds));
  console.log(`against restic dump of the same bytes from the same server: fetch (s3://) ${mibs(size, ourS)} MiB/s, restic dump ${mibs(size, dumpS)} MiB/s, ratio ${(dumpS / ourS).toFixed(2)}x (target >= 0.9x)`);
  console.log(`restic source: fetch (restic:) ${mibs(size, oursResticS)} MiB/s, restic dump > file ${mibs(size, dumpS)} MiB/s, ratio ${(dumpS / oursResticS).toFixed(2)}x (target >= 0.9x)`);
  const cpu = (xs: Array<{ cpu: number }>) => perGib(median(xs.map((o) => o.cpu)));
  console.log(
    `CPU per GiB (medians; the store's own CPU not included): fetch ${cpu(ours)}, rclone cat ${cpu(peer)}, rclone cat | tee | openssl sha256 ${cpu(peerHashed)},` +
      ` restic dump ${cpu(dump)}, fetch restic: (with restic's) ${cpu(oursRestic)}`,
  );
  const maxMib = (xs: number[]) => (Math.max(...xs) / MIB).toFixed(0);
  console.log(
    `memory: the fetching process grew at most ${(Math.max(...ours.map((o) => o.growth)) / MIB).toFixed(1)} MiB (s3://), ${(Math.max(...oursRestic.map((o) => o.growth)) / MIB).toFixed(1)} MiB (restic:) while ${GIB} GiB streamed (limit 64 MiB);` +
      ` peak RSS: rclone ${maxMib(peer.map((o) => o.peak))} MiB, restic dump ${maxMib(dump.map((o) => o.peak))} MiB, restic under our fetch ${maxMib(oursRestic.map((o) => o.childPeak))} MiB`,
  );
} finally {
  await weed.stop();
  rmSync(dir, { recursive: true, force: true });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function perGib(cpuSeconds: number): string {
  return (cpuSeconds / (size / 1024 / MIB)).toFixed(2);
}

function mibs(bytes: number, seconds: number): string {
  return (bytes / MIB / seconds).toFixed(0);
}
