import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { COUNTED_TABLES } from '../../scenarios/z4j/tables.ts';

const FIXTURE = new URL('../unit/fixtures/z4j-audit-1.13.0.db', import.meta.url);
/** The audit-chain secret of the install that signed the fixture's rows (test data only). */
export const FIXTURE_CHAIN_SECRET = (JSON.parse(readFileSync(new URL('../unit/fixtures/z4j-audit.json', import.meta.url), 'utf8')) as { secrets: Record<string, string> }).secrets['1.13.0']!;

/**
 * A small z4j 1.13.0 SQLite backup without an engine: the real audit_log and
 * audit_chain_state of a throwaway install (real z4j signatures), plus the
 * tables and metadata capture reads (z4j_meta, alembic_version, the other
 * counted tables, empty). Enough for capture and for the stages of a drill
 * that run before anything is started.
 */
export function smallZ4jBackup(dir: string, name = 'small.db', version = '1.13.0'): string {
  const path = join(dir, name);
  copyFileSync(FIXTURE, path);
  const db = new Database(path);
  db.exec("CREATE TABLE z4j_meta (key TEXT PRIMARY KEY, value TEXT); CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY); INSERT INTO alembic_version VALUES ('v1_12_auditor_role');");
  db.prepare("INSERT INTO z4j_meta VALUES ('schema_version', ?)").run(version);
  for (const t of COUNTED_TABLES) if (t !== 'audit_log') db.exec(`CREATE TABLE ${t} (id CHAR(32) PRIMARY KEY, name TEXT)`);
  db.close();
  return path;
}

/** secret.env of the install that made the fixture (its chain secret), and other values; 0600. */
export function fixtureSecretEnv(dir: string, name: string, text?: string): string {
  const path = join(dir, name);
  writeFileSync(path, text ?? `Z4J_SECRET=install-secret-0123456789\nZ4J_AUDIT_CHAIN_SECRET=${FIXTURE_CHAIN_SECRET}\nZ4J_SESSION_SECRET=session-secret-0123456789\n`, { mode: 0o600 });
  return path;
}
