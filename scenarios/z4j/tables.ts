/** The tables whose rows a z4j drill counts and fingerprints (what `z4j status` counts). */
export const COUNTED_TABLES = ['users', 'projects', 'agents', 'tasks', 'sessions', 'audit_log'] as const;
export type CountedTable = (typeof COUNTED_TABLES)[number];

/** `z4j status` labels for those tables. */
export const STATUS_LABELS: Record<string, CountedTable> = {
  users: 'users',
  projects: 'projects',
  agents: 'agents',
  tasks: 'tasks',
  sessions: 'sessions',
  'audit rows': 'audit_log',
};

/** The audit action z4j's own restore appends to the restored chain. */
export const RESTORE_AUDIT_ACTION = 'audit.database_restored';

/** Where z4j keeps its home (data dir) and database inside our image. */
export const Z4J_HOME = '/var/lib/z4j';
export const Z4J_DB = `${Z4J_HOME}/z4j.db`;
/** Where the archive is put in the container: outside the data dir. */
export const DRILL_DIR = '/drill';
