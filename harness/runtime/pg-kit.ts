import type pg from 'pg';
import type { BuiltImage, ImageRecipe } from '../images/index.ts';
import { postgresImage } from '../images/postgres.ts';
import type { DrillContainer, StartOptions } from './container.ts';
import { POSTGRES_COMMAND, POSTGRES_PORT, POSTGRES_SUPERUSER, waitForPostgres } from './postgres.ts';

/**
 * The PostgreSQL kit any profile with a PostgreSQL backend uses: a client
 * whose output does not depend on server or host settings, one-snapshot reads,
 * cursors, what "an empty database" must rule out, and a scratch server on a
 * drill's private network. Knows no application.
 */

export interface PgConnection {
  host: string;
  port: number;
  user: string;
  database: string;
  password?: string;
}

/** Rows fetched per round trip from a cursor: memory stays flat on long tables. */
const FETCH = 5000;

/**
 * A client whose text output does not depend on the server's or the host's
 * settings: UTC, ISO dates, shortest exact floats, hex bytea.
 */
export async function connectPg(c: PgConnection): Promise<pg.Client> {
  // Loaded here, not at the top: every CLI start would pay for it (about 50 ms), SQLite drills included.
  const { default: { Client } } = await import('pg');
  const client = new Client({ host: c.host, port: c.port, user: c.user, database: c.database, ...(c.password ? { password: c.password } : {}), connectionTimeoutMillis: 15_000 });
  await client.connect();
  await client.query("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 1; SET bytea_output = 'hex'");
  return client;
}

/** Runs `fn` in a read-only repeatable-read transaction: every read sees one snapshot. */
export async function inSnapshot<T>(client: pg.Client, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const out = await fn();
    await client.query('COMMIT');
    return out;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/** Streams a query's rows through a cursor (the caller is inside a transaction). */
export async function* cursorRows<R>(client: pg.Client, sql: string, params: unknown[] = [], name = 'rd_cursor'): AsyncGenerator<R[]> {
  await client.query(`DECLARE ${name} NO SCROLL CURSOR FOR ${sql}`, params);
  try {
    for (;;) {
      const r = await client.query(`FETCH ${FETCH} FROM ${name}`);
      if (r.rows.length === 0) return;
      yield r.rows as R[];
    }
  } finally {
    await client.query(`CLOSE ${name}`).catch(() => undefined);
  }
}

/** Everything a user (not the system) made in a database: what "empty" must rule out. */
export async function userObjects(client: pg.Client): Promise<string[]> {
  const r = await client.query<{ o: string }>(
    `SELECT format('%s %s.%s', CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' ELSE 'relation' END, n.nspname, c.relname) AS o
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND c.relkind IN ('r','p','v','m','S','f')
     UNION ALL
     SELECT format('function %s.%s', n.nspname, p.proname) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
     UNION ALL
     SELECT format('extension %s', extname) FROM pg_extension WHERE extname <> 'plpgsql'
     UNION ALL
     SELECT format('schema %s', nspname) FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'public') AND nspname NOT LIKE 'pg_toast%' AND nspname NOT LIKE 'pg_temp%'
     ORDER BY 1`,
  );
  return r.rows.map((x) => x.o);
}

/** What a scratch server needs of a drill: its runtime's images, its private network, containers it removes (the drill context is one). */
export interface ServerHost {
  buildImage(recipe: ImageRecipe): Promise<BuiltImage>;
  network(): Promise<string>;
  start(opts: Omit<StartOptions, 'drillId' | 'image'> & { image?: string }): Promise<DrillContainer>;
}

export interface ScratchServer {
  server: DrillContainer;
  /** The image it runs (its tag names the PostgreSQL major). */
  image: BuiltImage;
  /** The private network it is on. */
  network: string;
  /** How the host connects to one of its databases, as the superuser. */
  connection(database: string): PgConnection;
}

/**
 * A fresh, empty PostgreSQL server of `major` on the drill's private network,
 * accepting connections; removed with the drill's other containers.
 */
export async function startScratchPostgres(host: ServerHost, major: number, opts: { aliases?: string[]; role: string }): Promise<ScratchServer> {
  const image = await host.buildImage(postgresImage(major));
  const network = await host.network();
  const server = await host.start({ image: image.tag, network, ...(opts.aliases ? { aliases: opts.aliases } : {}), command: POSTGRES_COMMAND, labels: { 'io.restore-drill.role': opts.role } });
  await waitForPostgres(server);
  return { server, image, network, connection: (database) => ({ host: server.ipAddress(network), port: POSTGRES_PORT, user: POSTGRES_SUPERUSER, database }) };
}
