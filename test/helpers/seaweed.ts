import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ensureWeed } from './source-tools.ts';

/** A real SeaweedFS (master, volume, filer, S3 gateway) on 127.0.0.1 with its own data folder. */
export interface Seaweed {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  /** An SDK client for making buckets and objects (checksums as plain S3 expects them). */
  client: S3Client;
  stop(): Promise<void>;
}

export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((ok, ko) => {
      const s = createServer();
      s.once('error', ko);
      s.listen(0, '127.0.0.1', () => ok(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((ok) => s.close(ok))));
  return ports;
}

export async function startSeaweed(): Promise<Seaweed> {
  // The SDK's notice about future Node versions is not what these tests look at.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const weed = ensureWeed();
  const dir = mkdtempSync(join(tmpdir(), 'rd-seaweed-'));
  const accessKey = 'rdtestaccess';
  const secretKey = `rdtest-${Math.random().toString(36).slice(2)}`;
  writeFileSync(
    join(dir, 's3.json'),
    JSON.stringify({ identities: [{ name: 'tester', credentials: [{ accessKey, secretKey }], actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'] }] }),
  );
  const [master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, s3, s3Grpc] = await freePorts(8);
  const args = [
    'server', '-ip=127.0.0.1', '-ip.bind=127.0.0.1', `-dir=${join(dir, 'data')}`,
    `-master.port=${master}`, `-master.port.grpc=${masterGrpc}`, '-master.telemetry=false', '-master.volumeSizeLimitMB=1024',
    `-volume.port=${volume}`, `-volume.port.grpc=${volumeGrpc}`, '-volume.max=0',
    '-filer', `-filer.port=${filer}`, `-filer.port.grpc=${filerGrpc}`, `-filer.localSocket=${join(dir, 'filer.sock')}`,
    '-s3', `-s3.port=${s3}`, `-s3.port.grpc=${s3Grpc}`, '-s3.port.iceberg=0', '-s3.port.lance=0',
    `-s3.localSocket=${join(dir, 's3.sock')}`, `-s3.config=${join(dir, 's3.json')}`,
  ];
  mkdirSync(join(dir, 'data'));
  const child: ChildProcess = spawn(weed, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${s3}`;
  const client = new S3Client({
    endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const stop = async (): Promise<void> => {
    client.destroy();
    if (child.exitCode === null) {
      const gone = new Promise((ok) => child.once('exit', ok));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // Ready when a bucket can be made and written to (the volume server has registered).
  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      await client.send(new CreateBucketCommand({ Bucket: 'rd-ready' }));
      await client.send(new PutObjectCommand({ Bucket: 'rd-ready', Key: 'probe', Body: 'ok' }));
      break;
    } catch (e) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await stop();
        throw new Error(`SeaweedFS did not become ready (${e instanceof Error ? e.message : String(e)}); its log ends: ${log.slice(-1500)}`);
      }
      await new Promise((ok) => setTimeout(ok, 300));
    }
  }
  return { endpoint, accessKey, secretKey, client, stop };
}

/**
 * Points the AWS SDK's own configuration chain at this server, as a user's
 * environment would (endpoint, keys; no region, no profile or config file of
 * the machine's), so code under test finds the store the way it would in use.
 */
export function useSeaweedChain(weed: Seaweed, dir: string, secret = weed.secretKey): void {
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: weed.endpoint,
    AWS_ACCESS_KEY_ID: weed.accessKey,
    AWS_SECRET_ACCESS_KEY: secret,
    AWS_CONFIG_FILE: join(dir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-aws-credentials'),
    AWS_MAX_ATTEMPTS: '2',
  });
  delete process.env.AWS_REGION;
  delete process.env.AWS_DEFAULT_REGION;
  delete process.env.AWS_PROFILE;
}
