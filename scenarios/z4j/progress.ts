/**
 * What the live progress line says while z4j works, read from lines its tools
 * print: alembic's migration steps (the gate's upgrade) and pg_restore's
 * per-table lines when it is verbose. z4j's own restore prints nothing until
 * it ends ("z4j: restore complete"), so during it the line shows the command
 * and the bytes copied. Information only: no verdict reads this.
 */
export function z4jProgress(line: string): string | undefined {
  const migration = /Running upgrade (\S*) -> (\S+)/.exec(line);
  if (migration) return `migration ${migration[1] || '(base)'} -> ${migration[2]!.replace(/,$/, '')}`;
  const table = /pg_restore: processing data for table "([^"]+)"/.exec(line);
  if (table) return `restoring table ${table[1]}`;
  return undefined;
}
