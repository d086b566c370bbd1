import { spawn } from 'node:child_process';

/**
 * Runs a long host command (debootstrap, apt-get, pip download) without
 * blocking the event loop: timeouts, signals and progress of running drills
 * keep working while it runs.
 */
export function runAsync(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(opts.env ? { env: opts.env } : {}) });
    let stdout = '';
    let stderr = '';
    // Keep the tail only: these commands can print a lot.
    child.stdout.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(-64 << 10)));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-64 << 10)));
    child.on('error', (e) => resolve({ status: null, stdout, stderr: `${stderr}${e.message}` }));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
