/**
 * Readers for what z4j's CLI prints. Each returns undefined when the text is
 * not what z4j prints, so the caller can say "not parseable" (never a pass).
 */

/** z4j's structlog lines ("2026-... [info     ] ...") interleave with command output. */
export function withoutLogLines(text: string): string {
  return text
    .split('\n')
    .filter((l) => !/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}.*\[\s*(debug|info|warning|error|critical)\s*\]/.test(l))
    .join('\n');
}

export interface CheckOutput {
  allGreen: boolean;
  /** The "alembic version" row: the revision after "at", or the row's text. */
  revision?: string;
  alembicRow?: string;
  rows: Record<string, string>;
}

/** `z4j check`: rows "  name   value" and a last line "z4j check: all green." */
export function parseCheck(stdout: string): CheckOutput | undefined {
  const text = withoutLogLines(stdout);
  const rows: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^ {2}(\S.*?) {2,}(\S.*)$/.exec(line);
    if (m) rows[m[1]!] = m[2]!;
  }
  if (Object.keys(rows).length === 0) return undefined;
  const alembicRow = rows['alembic version'];
  const rev = alembicRow && /^at (\S+)$/.exec(alembicRow)?.[1];
  return { allGreen: /z4j check: all green\./.test(text), rows, ...(alembicRow ? { alembicRow } : {}), ...(rev ? { revision: rev } : {}) };
}

/** `z4j status` row counts ("    users     1,234"); "n/a" where z4j could not count. */
export function parseStatus(stdout: string): { version?: string; revision?: string; counts: Record<string, number | 'n/a'> } | undefined {
  const text = withoutLogLines(stdout);
  if (!/row counts:/.test(text)) return undefined;
  const counts: Record<string, number | 'n/a'> = {};
  let inCounts = false;
  let version: string | undefined;
  let revision: string | undefined;
  for (const line of text.split('\n')) {
    const v = /^ {2}version\s+(\S+)/.exec(line);
    if (v) version = v[1];
    const r = /^ {2}alembic revision\s+(\S+)/.exec(line);
    if (r) revision = r[1];
    if (/^ {2}row counts:/.test(line)) {
      inCounts = true;
      continue;
    }
    if (!inCounts) continue;
    const m = /^ {4}(\S.*?)\s{2,}([\d,]+|n\/a)\s*$/.exec(line);
    if (m) counts[m[1]!] = m[2] === 'n/a' ? 'n/a' : Number(m[2]!.replace(/,/g, ''));
  }
  if (Object.keys(counts).length === 0) return undefined;
  return { counts, ...(version ? { version } : {}), ...(revision ? { revision } : {}) };
}

/** `z4j audit verify`: "verified active: N", then problems when there are any. */
export function parseAuditVerify(stdout: string): { verified: number; problems: string[] } | undefined {
  const text = withoutLogLines(stdout);
  const m = /verified active:\s*([\d,]+)/.exec(text);
  if (!m) return undefined;
  const problems = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^verified active:/.test(l) && !/^canonical frozen rows assessed/.test(l));
  return { verified: Number(m[1]!.replace(/,/g, '')), problems };
}

/** `z4j migrate current --check-heads`: "<rev> (head)" when the stored revision is this build's head. */
export function parseMigrateCurrent(stdout: string): { revision: string; isHead: boolean } | undefined {
  const lines = withoutLogLines(stdout)
    .split('\n')
    .filter((l) => !/^INFO\s+\[alembic/.test(l) && l.trim());
  for (const l of lines) {
    // The whole line is the revision, optionally marked "(head)": anything else is not this output.
    const m = /^([\w.-]+)(\s+\(head\))?(\s+\([\w ,-]+\))?$/.exec(l.trim());
    if (m) return { revision: m[1]!, isHead: Boolean(m[2]) };
  }
  return undefined;
}

/** The last few meaningful lines of a command's output, to quote in a finding. */
export function quote(stdout: string, stderr: string, lines = 4): string {
  const all = withoutLogLines(`${stderr}\n${stdout}`)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return all.slice(-lines).join(' | ') || '(no output)';
}
