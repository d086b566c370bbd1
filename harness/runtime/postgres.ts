import { TimeoutError, DrillError } from '../errors.ts';
import type { DrillContainer } from './container.ts';

/**
 * A disposable PostgreSQL server in a container built from
 * harness/images/postgres.ts (docker/postgres): an empty cluster, trust
 * authentication, reachable only on the network it was started on.
 */
export const POSTGRES_COMMAND = ['postgres', '-D', '/var/lib/pgdata'];
export const POSTGRES_PORT = 5432;
export const POSTGRES_SUPERUSER = 'postgres';

/** Waits until the server accepts connections (pg_isready inside the container). */
export async function waitForPostgres(server: DrillContainer, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    const r = await server.exec(['pg_isready', '-q', '-h', '127.0.0.1', '-p', String(POSTGRES_PORT), '-U', POSTGRES_SUPERUSER], { timeoutMs: 10_000 });
    if (r.exitCode === 0) return;
    last = `${r.stdout}${r.stderr}`.trim();
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new TimeoutError(`PostgreSQL in ${server.name} did not accept connections within ${timeoutMs / 1000} s${last ? `: ${last}` : ''}`);
}

/** Runs SQL as the superuser inside the server's container (no client on the host needed). */
export async function psql(server: DrillContainer, database: string, sql: string, timeoutMs = 60_000): Promise<string> {
  const r = await server.exec(['psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-U', POSTGRES_SUPERUSER, '-d', database, '-c', sql], { timeoutMs });
  if (r.exitCode !== 0) throw new DrillError(`psql in ${server.name} failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim()}`, 'RD_CONTAINER_COMMAND');
  return r.stdout;
}
