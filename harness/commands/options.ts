import { CommanderError, Option } from 'commander';
import { ExitCode, UsageError } from '../errors.ts';
import { parseDuration } from '../history/store.ts';
import { VERSION_PATTERN } from '../manifest/schema.ts';
import { parseRunId, parseShard } from '../fleet/shard.ts';
import { taskSlotShard } from '../swarm/slot.ts';

/**
 * Every option more than one command takes, declared once: its flags, its
 * help and its parser. A command lists the names it takes (cli.ts), so run and
 * gate cannot drift apart.
 */
const repeat = (v: string, prev: string[] = []): string[] => [...prev, v];

export const OPTIONS = {
  profile: () => new Option('--profile <name>', 'application profile (see "restore-drill profiles")').makeOptionMandatory(),
  someProfile: () => new Option('--profile <name>', 'only this profile (default: all)'),
  manifest: () => new Option('--manifest <path>', 'manifest for the (single) archive'),
  secrets: () => new Option('--secrets <file>', "the application's secrets file (KEY=VALUE), e.g. its secret.env"),
  recordedSecrets: () => new Option('--secrets <file>', 'secrets file the drill will need (its location is recorded, never its values)'),
  reporter: () =>
    new Option(
      '--reporter <name[=path]>',
      'a reporter: console (default), json, junit, markdown, html, metrics; =PATH sets where a file reporter writes; repeat it or separate with commas for several',
    ).argParser(repeat),
  json: () => new Option('--json <path>', 'shorthand for --reporter json=PATH'),
  sign: () => new Option('--sign <private-key>', 'sign the JSON report with this Ed25519 key (see "evidence keygen"); writes REPORT.dsse.json and in-toto attestations, REPORT.intoto.jsonl'),
  history: () => new Option('--history <path>', 'drill history file (default: $RESTORE_DRILL_HISTORY or the state dir)'),
  noHistory: () => new Option('--no-history', 'do not record these drills in the history'),
  latest: () => new Option('--latest <n>', 'only the newest N archives of each folder').argParser((v) => parseCount(v, '--latest', 1)),
  sample: () => new Option('--sample <n>', 'N random archives (see --seed, --within)').argParser((v) => parseCount(v, '--sample', 1)),
  seed: () => new Option('--seed <s>', 'seed for --sample: the same seed picks the same archives').argParser((v) => parseCount(v, '--seed')),
  within: () => new Option('--within <duration>', 'for --sample: only archives taken within this window, e.g. 30d').argParser((v) => parseDurationOption(v, '--within', false)),
  oldestUndrilled: () => new Option('--oldest-undrilled <n>', 'the N oldest archives with no passed drill in the history').argParser((v) => parseCount(v, '--oldest-undrilled', 1)),
  jobs: () => new Option('--jobs <n>', 'drills at once (default: the number of cores)').argParser((v) => parseCount(v, '--jobs', 1)),
  timeout: () => new Option('--timeout <duration>', 'limit for one drill, e.g. 15m; it then ends error, naming its stage').argParser((v) => parseDurationOption(v, '--timeout')),
  deadline: () => new Option('--deadline <duration>', 'limit for the whole run, e.g. 2h; no drill starts after it, running ones end error').argParser((v) => parseDurationOption(v, '--deadline')),
  rto: () =>
    new Option(
      '--rto <duration>',
      "recovery-time budget, e.g. 15m: a drill whose recovery time (its start until the restored application's first probe check answers) is over it fails; a manifest's own budget binds, this can only tighten it",
    ).argParser((v) => parseDurationOption(v, '--rto', false)),
  rtoWarn: () => new Option('--rto-warn', 'report a recovery time over its budget as a note instead of failing the drill'),
  acceptEmpty: () => new Option('--accept-empty', 'accept empty backups (no audit rows, tenants or credentials) instead of failing them'),
  acceptDrop: () => new Option('--accept-drop', 'accept counts that dropped sharply (below half) against the previous backup of the same folder'),
  manifestPubkey: () => new Option('--manifest-pubkey <file>', 'require every manifest to be signed by this Ed25519 public key (<manifest>.dsse.json, from "manifest capture --sign")'),
  execTimeout: () =>
    new Option('--exec-timeout <seconds>', "limit for each command run in a container (default: derived from the archive's size and rows, at least 300)").argParser((v) => parsePositive(v, '--exec-timeout')),
  notify: () =>
    new Option('--notify <url>', 'when the run ends, POST a JSON summary with a Slack-compatible "text" to this URL (default: $RESTORE_DRILL_NOTIFY, which keeps a secret URL out of the process list); only its host is ever printed'),
  notifyOn: () => new Option('--notify-on <when>', 'failure: post only when the run did not pass (default); always: after every run').choices(['failure', 'always']),
  shard: () =>
    new Option(
      '--shard <I/N>',
      "drill only part I of N of the selection (I counts from 1: 1/3, 2/3, 3/3; Kubernetes' JOB_COMPLETION_INDEX counts from 0, add 1): the selection sorted by location then content digest, dealt round-robin, so every worker given the same archives, selection options and --seed drills its own part and together they drill each archive once; the report gets a shard block for merge; no history is recorded unless --history is named, and no notification (merge notifies)",
    ).argParser((v) => parseOr(() => taskSlotShard(v) ?? parseShard(v))),
  runId: () =>
    new Option('--run-id <id>', 'with --shard: the id of the run this shard belongs to, e.g. a CI pipeline id (default: a digest of the profile, the selected archives, N and --seed, the same on every worker); merge refuses reports of different runs').argParser((v) =>
      parseOr(() => parseRunId(v)),
    ),
  reportTo: () =>
    new Option(
      '--report-to <location>',
      'with --shard: write the shard\'s JSON report as shard-I-of-N.json (and with --sign its .dsse.json and .intoto.jsonl) into this folder (local, or mounted on every node; use a fresh one per run) or s3://BUCKET/PREFIX/ (same AWS configuration as s3:// archives); checked before any drill starts; a report that cannot be written there makes the exit code of a passing shard 3 (error); restic: and rclone: are read-only',
    ),
  on: () =>
    new Option(
      '--on <where>',
      'where the drills run: local (this engine, default) or swarm: one replicated-job service on the Swarm this engine (DOCKER_HOST) manages, a task per shard on its node\'s engine; the selection is resolved here, the shards\' reports (--report-to) merged into this run\'s report, history and exit code',
    ).choices(['local', 'swarm']),
  swarmSocketPath: () =>
    new Option('--swarm-socket-path <path>', "with --on swarm: each node's engine socket as a path on the node, mounted into its worker; Swarm templates allowed, e.g. /run/engines/{{.Node.ID}}.sock (default /var/run/docker.sock)"),
  shards: () => new Option('--shards <n>', 'with --on swarm: split the selection into N shards, one task each (default: one per archive, so nodes take drills as they free up)').argParser((v) => parseCount(v, '--shards', 1)),
  taskCpus: () => new Option('--task-cpus <n>', 'with --on swarm: CPUs reserved for each task (one drill at a time), so the Swarm places tasks where they fit (default 1)').argParser((v) => parsePositive(v, '--task-cpus')),
  taskMemory: () => new Option('--task-memory <size>', 'with --on swarm: memory reserved for each task, e.g. 512m, 2g (default 1g)').argParser((v) => parseOr(() => parseSize(v, '--task-memory'))),
  mergeRunId: () => new Option('--run-id <id>', 'merge only this run: a shard report of another run is refused').argParser((v) => parseOr(() => parseRunId(v))),
  appVersion: () => new Option('--app-version <version>', 'application version, for archives (or databases) that do not record it').argParser((v) => parseVersion(v, '--app-version')),
  appVersions: () =>
    new Option('--app-version <version...>', 'application versions to build images for (default: the profile default)').argParser((v: string, prev: string[] = []) => [...prev, parseVersion(v, '--app-version')]),
  base: () =>
    new Option('--base <mode>', 'base image: auto (built here before, or debian:bookworm-slim if present, else debootstrap), debootstrap, registry').choices(['auto', 'debootstrap', 'registry']),
} as const;

export type OptionName = keyof typeof OPTIONS;

/** What becomes of a run's results: reporters, signed evidence, history, notification (run, gate and merge). */
export const REPORT_OPTIONS = ['reporter', 'json', 'sign', 'history', 'noHistory', 'notify', 'notifyOn'] as const satisfies readonly OptionName[];

/** What run and gate both take: planning, reports, history, limits, policy, notification. */
export const DRILL_OPTIONS = [
  'manifest',
  'secrets',
  ...REPORT_OPTIONS,
  'timeout',
  'rto',
  'rtoWarn',
  'acceptEmpty',
  'acceptDrop',
  'manifestPubkey',
  'execTimeout',
] as const satisfies readonly OptionName[];

/** What run adds: which archives of a folder, how many at once, and the run's own limit. */
export const SELECTION_OPTIONS = ['latest', 'sample', 'seed', 'within', 'oldestUndrilled', 'jobs', 'deadline'] as const satisfies readonly OptionName[];

/** What run adds for a worker of a run spread over many machines. */
export const SHARD_OPTIONS = ['shard', 'runId', 'reportTo'] as const satisfies readonly OptionName[];

/** What run adds to submit its drills to a Swarm (run --on swarm). */
export const SWARM_OPTIONS = ['on', 'swarmSocketPath', 'shards', 'taskCpus', 'taskMemory'] as const satisfies readonly OptionName[];

/** A memory size: bytes, or a number with k, m, g (powers of 1024), as docker takes it. */
export function parseSize(v: string, name: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*$/i.exec(v);
  const n = m ? Number(m[1]) * 1024 ** ['', 'k', 'm', 'g'].indexOf(m[2]!.toLowerCase()) : NaN;
  if (!Number.isFinite(n) || n < 4 * 1024 ** 2) throw new UsageError(`${name} takes a size of at least 4m, like 512m or 2g, got ${JSON.stringify(v.slice(0, 40))}`, 'RD_USAGE');
  return Math.round(n);
}

/** Adds the named options from the table to a command. */
export function withOptions<C extends { addOption(o: Option): C }>(cmd: C, names: readonly OptionName[]): C {
  for (const n of names) cmd.addOption(OPTIONS[n]());
  return cmd;
}

/** The longest a timer can wait (Node's setTimeout limit); a longer limit would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function invalid(message: string): CommanderError {
  return new CommanderError(ExitCode.usage, 'restore-drill.invalidArgument', message);
}

/** A parser's UsageError as the invalid-argument error commander reports (one line, exit 2). */
function parseOr<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw invalid((e as Error).message);
  }
}

export function parseCount(v: string, name: string, min = 0): number {
  const n = /^\d+$/.test(v.trim()) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min) throw invalid(`${name} takes a whole number${min > 0 ? ` of at least ${min}` : ''}, got "${v}"`);
  return n;
}

/** A duration like 30d, 12h, 90m, 45s or 2w; more than zero, and (for timers) at most 24 days. */
export function parseDurationOption(v: string, name: string, timer = true): number {
  let ms: number;
  try {
    ms = parseDuration(v);
  } catch (e) {
    throw invalid(`${name}: ${(e as Error).message}`);
  }
  if (!(ms >= 1000)) throw invalid(`${name} takes a duration of at least 1s (like 30s, 15m, 2h), got "${v}"`);
  if (timer && ms > MAX_TIMER_MS) throw invalid(`${name} takes a duration of at most 24d, got "${v}"`);
  return ms;
}

export function parseVersion(v: string, name: string): string {
  if (v.length > 64 || !VERSION_PATTERN.test(v)) throw invalid(`${name} takes a version like 1.13.0 (digits and dots, then letters, digits, ".", "+" or "-"), got ${JSON.stringify(v)}`);
  return v;
}

export function parsePositive(v: string, name: string): number {
  const n = /^\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : Number.NaN;
  if (!Number.isFinite(n) || n <= 0 || n * 1000 > MAX_TIMER_MS) throw invalid(`${name} takes a number of seconds, more than 0 and at most ${Math.floor(MAX_TIMER_MS / 1000)}, got "${v}"`);
  return n;
}

