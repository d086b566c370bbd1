import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HARNESS_OPERATIONAL_CHECK, type DrillContext } from '../../harness/profile.ts';
import type { HiveloomSessionCheckId } from '../../scenarios/hiveloom/check-ids.ts';
import type { Z4jSessionCheckId } from '../../scenarios/z4j/check-ids.ts';

/**
 * Sessions observe, the contract judges (issue 21): `ctx.check` is for
 * operational facts only (a command ran, the data dir was empty, a file could
 * not be read or opened, secret material was not supplied). This test reads
 * every `.check(` call in scenarios/ and holds the ids it records to the
 * operational set below; the judgements still made in a session are listed
 * one by one in STILL_JUDGED_IN_A_SESSION, which may only shrink: an id on it
 * that no session records any more fails here, so moving a judgement into a
 * contract means taking it off the list.
 */

const root = resolve(import.meta.dirname, '../..');

/** Operational facts a session may record. */
const OPERATIONAL = new Set([
  // Provision: what was started, into what.
  'provision.data-dir',
  'upgrade.data-dir',
  'provision.refused',
  'provision.secrets',
  'provision.secret-env',
  'provision.fresh-install',
  'provision.database-server',
  'provision.target-db',
  // A command ran (the application's restore, start, migration).
  'restore.hiveloom-restore',
  'restore.first-start',
  'restore.restart',
  'restore.stale-sidecar',
  'restore.z4j-restore',
  'upgrade.migrate',
  'probe.serve',
  'probe.at-rest',
  // Something could not be read, opened or reached; secret material was not supplied.
  'inspect.read',
  'inspect.secrets',
  'probe.read',
  'probe.open',
  'probe.connect',
]);

/** Judgements of an observation still made in a session, to move into the contracts (issue 21). Only ever shrinks. */
const STILL_JUDGED_IN_A_SESSION = new Set<string>([
  // Empty: every judgement a session made is now its profile contract's (issue 21). Keep it so.
]);

/**
 * Calls that pass on what another function made, not an id of their own:
 * where the ids come from (the literal ids of that file, and any built there).
 */
const FORWARDED: Record<string, { from: string; built?: string[] }> = {
  // Hiveloom's #startServer(id, ...): the ids are its callers'.
  'scenarios/hiveloom/session.ts {id,status:onFailure': { from: 'scenarios/hiveloom/session.ts#startServer' },
};

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile() && d.name.endsWith('.ts') && !join(d.parentPath, d.name).includes('/native/'))
    .map((d) => join(d.parentPath, d.name));
}

/** The text of a call's arguments from just after its `(`: skips strings and template literals, so parens in reasons do not count. */
function callArgs(text: string, start: number): string {
  let depth = 1;
  const quotes: string[] = [];
  for (let i = start; i < text.length; i++) {
    const c = text[i]!;
    const q = quotes[quotes.length - 1];
    if (q === "'" || q === '"') {
      if (c === '\\') i++;
      else if (c === q) quotes.pop();
      continue;
    }
    if (q === '`') {
      if (c === '\\') i++;
      else if (c === '`') quotes.pop();
      else if (c === '$' && text[i + 1] === '{') {
        quotes.push('{');
        i++;
      }
      continue;
    }
    if (c === "'" || c === '"' || c === '`') quotes.push(c);
    else if (q === '{' && c === '{') quotes.push('{{');
    else if (c === '}' && (q === '{' || q === '{{')) quotes.pop();
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return text.slice(start, i);
  }
  throw new Error('unbalanced call');
}

/** An id as written: a literal, or a template made per item (`inspect.entry.${...}` is `inspect.entry.*`). */
const ID = /\bid: (?:'([a-z0-9.*-]+)'|`([a-z0-9.-]+)\$\{)/g;
const idOf = (m: RegExpMatchArray) => m[1] ?? `${m[2]}*`;

/** Every id the sessions record through ctx.check, with the calls the scan cannot read an id from. */
function recordedIds(): { ids: Map<string, string>; unread: string[] } {
  const ids = new Map<string, string>();
  const unread: string[] = [];
  for (const file of sources('scenarios')) {
    const text = readFileSync(file, 'utf8');
    const rel = relative(root, file);
    for (const m of text.matchAll(/\.check\(/g)) {
      const args = callArgs(text, m.index + m[0].length);
      const found = [...args.matchAll(ID)].map(idOf);
      if (found.length > 0) for (const id of found) ids.set(id, rel);
      else unread.push(`${rel} ${args.replace(/\s+/g, '').slice(0, 20)}`);
    }
    // The harness's data-dir check, under the id the session names (provision.data-dir unless told).
    for (const m of text.matchAll(/\brequireEmptyDataDir\(/g)) {
      const named = /'([a-z0-9.-]+)'/.exec(callArgs(text, m.index + m[0].length));
      ids.set(named?.[1] ?? HARNESS_OPERATIONAL_CHECK.dataDir, rel);
    }
  }
  for (const [call, { from, built }] of Object.entries(FORWARDED)) {
    if (!unread.includes(call)) continue;
    const [file, fn] = from.split('#');
    let text = readFileSync(join(root, file!), 'utf8');
    // A private method's ids are the string literals its callers pass it.
    if (fn) for (const m of text.matchAll(new RegExp(`#${fn}\\('([a-z0-9.-]+)'`, 'g'))) ids.set(m[1]!, `${file} ${fn}`);
    else {
      text = text.replace(/\bconst id = /g, 'id: ');
      for (const m of text.matchAll(ID)) ids.set(idOf(m), file!);
    }
    for (const id of built ?? []) ids.set(id, file!);
  }
  return { ids, unread: unread.filter((c) => !(c in FORWARDED)) };
}

describe('ctx.check records operational facts; judgements belong to the contracts', () => {
  const { ids, unread } = recordedIds();

  it('reads an id from every ctx.check call in scenarios/ (or knows where a forwarded one comes from)', () => {
    // The scan finds the calls at all (a pattern that matched nothing would pass anything).
    // (A floor, not a count: the operational ids both profiles' sessions record.)
    expect(ids.size).toBeGreaterThan(15);
    expect(ids.has('provision.data-dir')).toBe(true);
    expect(ids.has('provision.target-db')).toBe(true);
    expect(ids.has('restore.first-start')).toBe(true);
    expect(ids.has('upgrade.data-dir')).toBe(true);
    expect(unread).toEqual([]);
  });

  it('every id a session records is operational, or listed as still judged in a session', () => {
    const stray = [...ids].filter(([id]) => !OPERATIONAL.has(id) && !STILL_JUDGED_IN_A_SESSION.has(id)).map(([id, file]) => `${id} (${file})`);
    expect(stray).toEqual([]);
    // The harness's own operational ids are operational here too.
    expect(Object.values(HARNESS_OPERATIONAL_CHECK).filter((id) => !OPERATIONAL.has(id))).toEqual([]);
    // No comparison with the manifest is ever an operational fact.
    expect([...OPERATIONAL].filter((id) => id.startsWith('compare.'))).toEqual([]);
  });

  it('the still-judged list only shrinks: each id on it is still recorded by a session', () => {
    expect([...STILL_JUDGED_IN_A_SESSION].filter((id) => !ids.has(id))).toEqual([]);
  });

  it("a session's ctx.check takes its profile's ids only (a misspelt id is a type error)", () => {
    const hiveloom = (ctx: DrillContext<HiveloomSessionCheckId>) => {
      // @ts-expect-error a misspelt id is no Hiveloom check id
      ctx.check({ id: 'probe.master-kee', status: 'pass', reason: '' });
      ctx.check({ id: 'probe.master-key', status: 'pass', reason: '' });
      ctx.check({ id: 'provision.data-dir', status: 'pass', reason: '' });
    };
    const z4j = (ctx: DrillContext<Z4jSessionCheckId>) => {
      // @ts-expect-error a Hiveloom id is no z4j check id
      ctx.check({ id: 'probe.master-key', status: 'pass', reason: '' });
      ctx.check({ id: 'inspect.pg-rows.users', status: 'pass', reason: '' });
    };
    // Type-level only (npm run typecheck fails on an unused @ts-expect-error); called with nothing to record.
    const seen: string[] = [];
    const record = { check: (r: { id: string }) => seen.push(r.id) } as unknown as DrillContext<never>;
    hiveloom(record);
    z4j(record);
    expect(seen).toEqual(['probe.master-kee', 'probe.master-key', 'provision.data-dir', 'probe.master-key', 'inspect.pg-rows.users']);
  });
});
