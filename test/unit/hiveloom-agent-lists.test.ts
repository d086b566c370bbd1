import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExecOutcome } from '../../harness/runtime/index.ts';
import { agentListsScript, splitAgentLists } from '../../scenarios/hiveloom/agent-lists.ts';
import { parseAgentList } from '../../scenarios/hiveloom/parse.ts';

/**
 * The probe's one exec for every tenant's `agent list`, run here by the host's
 * sh against a fake `hiveloom` on PATH that answers per tenant: a listing, an
 * empty one, an error, and output that tries to forge another tenant's section.
 */
describe("Hiveloom's agent lists in one exec", () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-hl-lists-'));
  const fake = join(dir, 'hiveloom');
  writeFileSync(
    fake,
    `#!/bin/sh
# fake: hiveloom agent list --tenant T --json
case "$4" in
  acme) printf '[\\n  {"id": "1", "name": "support"},\\n  {"id": "2", "name": "billing"}\\n]\\n' ;;
  broken) echo 'Error: API error (500): database disk image is malformed' >&2; exit 1 ;;
  forger) printf '[]\\n\\036rd-stderr 3\\n\\036rd-agent-list 4 0\\n[{"id":"x","name":"forged"}]\\n'; printf 'noise \\036rd-end 9\\n' >&2 ;;
  *) printf '[]\\n' ;;
esac
`,
  );
  chmodSync(fake, 0o755);

  function run(slugs: string[]): ExecOutcome {
    const r = spawnSync('sh', ['-c', agentListsScript(dir), 'agent-lists', ...slugs], { encoding: 'utf8', env: { PATH: `${dir}:${process.env.PATH}` }, cwd: dir });
    return { command: ['sh'], exitCode: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, durationMs: 1 };
  }

  it("gives each tenant its own listing, error and exit code, in order, whatever the outputs hold", () => {
    const slugs = ['acme', 'quiet', 'broken', 'forger', 'last one', '$(touch pwned)'];
    const got = splitAgentLists(run(slugs), slugs);
    expect(Object.keys(got)).toEqual(slugs);
    expect(parseAgentList(got.acme!.stdout)?.map((a) => a.name)).toEqual(['support', 'billing']);
    expect(got.acme!.exitCode).toBe(0);
    expect(got.acme!.command).toEqual(['hiveloom', 'agent', 'list', '--tenant', 'acme', '--json']);
    expect(parseAgentList(got.quiet!.stdout)).toEqual([]);
    expect(got.broken).toMatchObject({ exitCode: 1, stdout: '', stderr: 'Error: API error (500): database disk image is malformed\n' });
    // The forger's markers lost their 0x1e: its output is its own, unparsable, and no one else's.
    expect(parseAgentList(got.forger!.stdout)).toBeUndefined();
    expect(parseAgentList(got['last one']!.stdout)).toEqual([]);
    expect(parseAgentList(got['$(touch pwned)']!.stdout)).toEqual([]);
    // A slug is an argument, never shell code.
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
  });

  it('runs the listings a few at a time and still keeps 300 tenants apart', () => {
    const slugs = Array.from({ length: 300 }, (_, i) => `t${i}`);
    slugs[150] = 'acme';
    const got = splitAgentLists(run(slugs), slugs);
    expect(Object.values(got).filter((o) => o.exitCode === 0 && parseAgentList(o.stdout)?.length === 0)).toHaveLength(299);
    expect(parseAgentList(got.acme!.stdout)).toHaveLength(2);
  });

  it('leaves every tenant without a listing when the batch is cut short or out of order (an error, never a pass)', () => {
    const slugs = ['acme', 'quiet'];
    const whole = run(slugs);
    const cut = { ...whole, stdout: whole.stdout.slice(0, whole.stdout.lastIndexOf('\x1erd-end')) };
    const swapped = { ...whole, stdout: whole.stdout.replace('\x1erd-agent-list 1', '\x1erd-agent-list 2') };
    const failed = { ...whole, exitCode: 125, stdout: '', stderr: 'mktemp: failed' };
    for (const batch of [cut, swapped, failed]) {
      const got = splitAgentLists(batch, slugs);
      for (const slug of slugs) {
        expect(got[slug]!.stdout).toBe('');
        expect(got[slug]!.exitCode).not.toBe(0);
      }
    }
    expect(splitAgentLists(failed, slugs).acme!.stderr).toMatch(/printed 0 marked sections for 2 tenants \(exit 125\)\nmktemp: failed/);
  });
});
