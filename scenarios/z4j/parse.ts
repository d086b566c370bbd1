/**
 * Readers for what z4j's CLI prints, strictly: each knows every line the
 * versions we drill (1.8.0 to 1.13.x) print for a command, and a line it does
 * not know is an error naming that line, never skipped. A verdict must not
 * rest on text we only half understood (a stray "all green." beside a FAIL
 * row, a summary line we never saw before).
 *
 * The wording differs by version (recorded from each real install in
 * test/unit/fixtures/z4j-output/): 1.8.0 prints "alembic head" and
 * "active sessions" in `z4j status` and "verified frozen: N" in
 * `z4j audit verify`; 1.9.0 and newer print "alembic revision", "sessions"
 * and "canonical frozen rows assessed in aggregate: N".
 */

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(error: string): Parsed<T> => ({ ok: false, error });

/** Names a line in an error without letting it run on. */
function shown(line: string): string {
  const t = line.length > 160 ? `${line.slice(0, 160)}…` : line;
  return JSON.stringify(t);
}

const LOG_LINE = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}.*\[\s*(debug|info|warning|error|critical)\s*\]/;

/** z4j's structlog lines ("2026-... [info     ] ...") interleave with command output. */
export function withoutLogLines(text: string): string {
  return text
    .split('\n')
    .filter((l) => !LOG_LINE.test(l))
    .join('\n');
}

/** The output's lines without log lines, trailing whitespace and the final empty line. */
function linesOf(stdout: string): string[] {
  const lines = withoutLogLines(stdout.replace(/\r\n/g, '\n'))
    .split('\n')
    .map((l) => l.replace(/\s+$/, ''));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

const count = (s: string): number => Number(s.replace(/,/g, ''));
const COUNT = /^\d{1,3}(,\d{3})*$|^\d+$/;

export interface CheckOutput {
  /** The last line is "z4j check: all green." (printed only when z4j returns 0). */
  allGreen: boolean;
  /** Each row's value by name ("config" → "OK"); a value may span lines (an exception's text). */
  rows: Record<string, string>;
  /** The "alembic version" row's revision when it reads "at <rev>". */
  revision?: string;
}

const CHECK_ROWS = new Set(['config', 'environment', 'database connectivity', 'alembic version']);

/** Parentheses still open in a row's value: z4j prints exception texts, newlines included, inside "(...)". */
function openParens(s: string): number {
  let n = 0;
  for (const c of s) n += c === '(' ? 1 : c === ')' ? -1 : 0;
  return n;
}

/** `z4j check`: rows "  <name padded to 30>  <value>", then "z4j check: all green." when z4j returns 0. */
export function parseCheck(stdout: string): Parsed<CheckOutput> {
  const lines = linesOf(stdout);
  const rows: Record<string, string> = {};
  let allGreen = false;
  let open: string | undefined;
  for (const line of lines) {
    if (open !== undefined) {
      rows[open] += `\n${line}`;
      if (openParens(rows[open]!) <= 0) open = undefined;
      continue;
    }
    if (allGreen) return bad(`z4j check printed a line after "all green.": ${shown(line)}`);
    if (line === 'z4j check: all green.') {
      allGreen = true;
      continue;
    }
    const m = /^ {2}(\S.*?) {2,}(\S.*)$/.exec(line);
    if (!m || !CHECK_ROWS.has(m[1]!)) return bad(`z4j check printed a line this drill does not know: ${shown(line)}`);
    if (m[1]! in rows) return bad(`z4j check printed the row "${m[1]}" twice`);
    rows[m[1]!] = m[2]!;
    if (openParens(m[2]!) > 0) open = m[1]!;
  }
  if (open !== undefined) return bad(`z4j check's "${open}" row ends inside an unclosed parenthesis`);
  if (Object.keys(rows).length === 0) return bad('z4j check printed no rows');
  const rev = /^at ([\w.-]+)$/.exec(rows['alembic version'] ?? '')?.[1];
  return ok({ allGreen, rows, ...(rev ? { revision: rev } : {}) });
}

export interface StatusOutput {
  version?: string;
  /** The stored revision, where it is one ("(alembic_version missing)" is not). */
  revision?: string;
  /** Counts by table label as 1.9+ words them ("active sessions" in 1.8.0 is "sessions"); "n/a" where z4j could not count. */
  counts: Record<string, number | 'n/a'>;
}

/** Row-count labels by version: 1.8.0 says "active sessions" for the same count of the sessions table. */
const STATUS_COUNT_LABELS: Record<string, string> = {
  users: 'users',
  projects: 'projects',
  agents: 'agents',
  tasks: 'tasks',
  sessions: 'sessions',
  'active sessions': 'sessions',
  'audit rows': 'audit rows',
};

/** `z4j status`: a header, four settings rows, then "row counts:" and one indented row per table. */
export function parseStatus(stdout: string): Parsed<StatusOutput> {
  const lines = linesOf(stdout);
  if (lines[0] !== 'z4j status') return bad(`z4j status did not start with its header: ${shown(lines[0] ?? '(no output)')}`);
  const counts: Record<string, number | 'n/a'> = {};
  let version: string | undefined;
  let revision: string | undefined;
  let inCounts = false;
  for (const line of lines.slice(1)) {
    if (line === '' || line === '  (n/a = table not present yet; run `z4j migrate upgrade head`)') continue;
    if (line === '  row counts:') {
      if (inCounts) return bad('z4j status printed "row counts:" twice');
      inCounts = true;
      continue;
    }
    if (!inCounts) {
      const m = /^ {2}(version|alembic revision|alembic head|environment|database) {2,}(\S.*)$/.exec(line);
      if (!m) return bad(`z4j status printed a line this drill does not know: ${shown(line)}`);
      if (m[1] === 'version') version = m[2];
      // 1.8.0 labels the stored revision "alembic head"; it is the same SELECT from alembic_version.
      if (m[1] === 'alembic revision' || m[1] === 'alembic head') revision = /^[\w.-]+$/.test(m[2]!) ? m[2] : undefined;
      continue;
    }
    const m = /^ {4}(\S.*?) {2,}(\S+)$/.exec(line);
    const label = m && STATUS_COUNT_LABELS[m[1]!];
    if (!m || !label || (m[2] !== 'n/a' && !COUNT.test(m[2]!))) return bad(`z4j status printed a line this drill does not know: ${shown(line)}`);
    if (label in counts) return bad(`z4j status printed the count "${label}" twice`);
    counts[label] = m[2] === 'n/a' ? 'n/a' : count(m[2]!);
  }
  if (!inCounts || Object.keys(counts).length === 0) return bad('z4j status printed no row counts');
  return ok({ counts, ...(version ? { version } : {}), ...(revision ? { revision } : {}) });
}

export interface AuditVerifyOutput {
  /** "authenticated": the Boundary-F verifier ("verified active"); "legacy": the pre-chain-secret walk ("verified: N"). */
  mode: 'authenticated' | 'legacy';
  verified: number;
  /** Frozen rows z4j assessed ("verified frozen" in 1.8.0, "canonical frozen rows assessed in aggregate" later). */
  frozen?: number;
  /** The count in "MISMATCHES (k):" (beyond a reporting cap it exceeds the lines listed). */
  mismatches: number;
  problems: string[];
}

/** `z4j audit verify`: "verified active: N", a frozen-rows line, then "MISMATCHES (k):" and indented problems. */
export function parseAuditVerify(stdout: string): Parsed<AuditVerifyOutput> {
  const lines = linesOf(stdout);
  let mode: AuditVerifyOutput['mode'] | undefined;
  let verified = 0;
  let frozen: number | undefined;
  let mismatches: number | undefined;
  const problems: string[] = [];
  for (const line of lines) {
    if (mismatches !== undefined) {
      if (!/^ {2}\S/.test(line)) return bad(`z4j audit verify printed a line this drill does not know after its mismatches: ${shown(line)}`);
      problems.push(line.trim());
      continue;
    }
    const active = /^verified active: ([\d,]+)$/.exec(line);
    const legacy = /^verified: ([\d,]+)$/.exec(line);
    const frozenLine = /^(?:verified frozen|canonical frozen rows assessed in aggregate): ([\d,]+)$/.exec(line);
    const header = /^MISMATCHES \(([\d,]+)\):$/.exec(line);
    if ((active || legacy) && mode === undefined) {
      mode = active ? 'authenticated' : 'legacy';
      verified = count((active ?? legacy)![1]!);
    } else if (frozenLine && mode === 'authenticated' && frozen === undefined) {
      frozen = count(frozenLine[1]!);
    } else if (header && mode !== undefined) {
      mismatches = count(header[1]!);
    } else {
      return bad(`z4j audit verify printed a line this drill does not know: ${shown(line)}`);
    }
  }
  if (mode === undefined) return bad('z4j audit verify printed no "verified" line');
  if (mode === 'authenticated' && frozen === undefined) return bad('z4j audit verify printed no frozen-rows line after "verified active"');
  if (mismatches !== undefined && problems.length === 0) return bad(`z4j audit verify announced ${mismatches} mismatches and listed none`);
  return ok({ mode, verified, ...(frozen !== undefined ? { frozen } : {}), mismatches: mismatches ?? 0, problems });
}

/** The image's migration-heads file: one alembic revision per line, nothing else. */
export function parseMigrationHeads(text: string): Parsed<string[]> {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const stray = lines.find((l) => !/^[\w.-]+$/.test(l));
  if (stray !== undefined) return bad(`the migration-heads file holds a line that is not a revision: ${shown(stray)}`);
  if (lines.length === 0) return bad('the migration-heads file is empty');
  return ok(lines);
}

/**
 * What a command meant to say, to quote in a finding: the last few lines of
 * its output. A Python traceback is never quoted: its frames and source lines are
 * dropped, and its exception line kept without the module path
 * ("SecretStoreError: ..."), which is the line that says what went wrong.
 */
export function quote(stdout: string, stderr: string, lines = 4): string {
  const kept: string[] = [];
  let inTraceback = false;
  for (const raw of withoutLogLines(`${stderr}\n${stdout}`).replace(/\r\n/g, '\n').split('\n')) {
    const l = raw.trim();
    if (/^Traceback \(most recent call last\):/.test(l)) {
      inTraceback = true;
      continue;
    }
    if (/^(During handling of the above exception|The above exception was the direct cause)/.test(l)) continue;
    // Frames, source lines and carets are indented; the exception line that ends a traceback is not.
    if (inTraceback && (/^\s/.test(raw) || !l)) continue;
    if (inTraceback) {
      inTraceback = false;
      kept.push(l.replace(/^(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_]\w*(?:Error|Exception|Exit|Interrupt|Warning)?:)/, ''));
      continue;
    }
    if (l) kept.push(l);
  }
  return kept.slice(-lines).join(' | ') || '(no output)';
}
