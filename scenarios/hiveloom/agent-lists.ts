import type { ExecOutcome } from '../../harness/runtime/index.ts';

/**
 * Every tenant's `hiveloom agent list --tenant <slug> --json` in one exec.
 * Hiveloom 0.2.0's CLI lists one tenant per call and its API has no listing
 * across tenants, so the calls stay one per tenant; what one exec saves is the
 * engine's round trips (about 0.16 s per tenant, 56 s for 346 tenants), and
 * running a few calls at once hides the CLI's start-up. The slugs come as
 * positional arguments (never spliced into the script: a slug is the archive's
 * data). Each call's stdout, stderr and exit code go to files of their own,
 * then come out in order between marker lines that start with the ASCII record
 * separator (0x1e); the outputs are printed without any 0x1e, so no output can
 * forge a marker.
 */
export function agentListsScript(workDir: string, parallel = 4): string {
  return [
    'set -u',
    `d=$(mktemp -d ${workDir}/agent-lists.XXXXXX) || exit 125`,
    'i=0; n=0',
    'for t do',
    '  i=$((i+1))',
    '  ( hiveloom agent list --tenant "$t" --json >"$d/$i.out" 2>"$d/$i.err"; echo $? >"$d/$i.rc" ) &',
    `  n=$((n+1)); if [ "$n" -ge ${parallel} ]; then wait; n=0; fi`,
    'done',
    'wait',
    'i=0',
    'for t do',
    '  i=$((i+1))',
    `  printf '\\036rd-agent-list %d %s\\n' "$i" "$(cat "$d/$i.rc" 2>/dev/null || echo none)"`,
    `  tr -d '\\036' <"$d/$i.out"`,
    `  printf '\\n\\036rd-stderr %d\\n' "$i"`,
    `  tr -d '\\036' <"$d/$i.err"`,
    `  printf '\\n'`,
    'done',
    `printf '\\036rd-end %d\\n' "$i"`,
    'rm -rf "$d"',
  ].join('\n');
}

/**
 * The batch's output split back into one outcome per slug, as if each `agent
 * list` had been its own exec. Anything short of every slug's section, in
 * order, with a numeric exit code and the end marker counting them all, leaves
 * every slug without an outcome carrying its own words: the compare stage then
 * says the listing printed nothing (an error, never a pass).
 */
export function splitAgentLists(batch: ExecOutcome, slugs: readonly string[]): Record<string, ExecOutcome> {
  const out: Record<string, ExecOutcome> = Object.create(null) as Record<string, ExecOutcome>;
  const command = (slug: string) => ['hiveloom', 'agent', 'list', '--tenant', slug, '--json'];
  const failed = (why: string) => {
    for (const slug of slugs) out[slug] = { command: command(slug), exitCode: batch.exitCode === 0 ? -1 : batch.exitCode, stdout: '', stderr: `${why}\n${batch.stderr}`.trim(), durationMs: batch.durationMs };
    return out;
  };
  const sections = batch.stdout.split('\x1e').slice(1);
  if (sections.length !== 2 * slugs.length + 1) return failed(`the batch of agent lists printed ${sections.length} marked sections for ${slugs.length} tenants (exit ${batch.exitCode})`);
  if (sections.at(-1)!.trim() !== `rd-end ${slugs.length}`) return failed('the batch of agent lists did not finish');
  const share = batch.durationMs / slugs.length;
  for (let i = 0; i < slugs.length; i++) {
    const head = /^rd-agent-list (\d+) (\d+)\n/.exec(sections[2 * i]!);
    const err = /^rd-stderr (\d+)\n/.exec(sections[2 * i + 1]!);
    if (!head || Number(head[1]) !== i + 1 || !err || Number(err[1]) !== i + 1) return failed(`the batch of agent lists is out of order at tenant ${i + 1}`);
    const slug = slugs[i]!;
    out[slug] = {
      command: command(slug),
      exitCode: Number(head[2]),
      // Each section ends with the newline the script adds after the output.
      stdout: sections[2 * i]!.slice(head[0].length).replace(/\n$/, ''),
      stderr: sections[2 * i + 1]!.slice(err[0].length).replace(/\n$/, ''),
      durationMs: share,
    };
  }
  return out;
}
