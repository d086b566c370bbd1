import { Command, CommanderError, Option } from 'commander';
import { ExitCode, InternalError, UsageError, isRestoreDrillError } from './errors.ts';
import { TOOL_VERSION } from './version.ts';
import { setupCommand } from './commands/setup.ts';
import { imagesBuild, imagesList, imagesLoad, imagesPrune } from './commands/images.ts';
import { runCommand } from './commands/run.ts';
import { runOnSwarmCommand } from './commands/run-swarm.ts';
import { endSwarmTask, isSwarmTask, scheduleOwnRemoval } from './swarm/worker-end.ts';
import { captureCommand } from './commands/capture.ts';
import { backupCommand } from './commands/backup.ts';
import { sweepCommand } from './commands/sweep.ts';
import { demoCommand } from './commands/demo.ts';
import { manifestJsonSchema } from './manifest/schema.ts';
import { reportJsonSchema } from './report/schema.ts';
import { keygenCommand, verifyCommand } from './commands/evidence.ts';
import { historyCommand } from './commands/history.ts';
import { stopAllContainers } from './runtime/container.ts';
import { ensureEngine } from './runtime/engine.ts';
import { currentInterruptHandler } from './interrupt.ts';
import { gateCommand } from './commands/gate.ts';
import { DRILL_OPTIONS, OPTIONS, REPORT_OPTIONS, SELECTION_OPTIONS, SHARD_OPTIONS, SWARM_OPTIONS, parseDurationOption, parseVersion, withOptions } from './commands/options.ts';
import { mergeCommand } from './commands/merge.ts';
import type { ShardSpec } from './fleet/shard.ts';
import { printable } from './model/printable.ts';

// After a signal, drills still unwinding must not print verdicts they did not reach.
let interrupted = false;
const out = (line: string): void => void (interrupted || process.stdout.write(`${line}\n`));
// One line each: a name holding a newline or an escape sequence is shown escaped.
const say = (line: string): void => void (interrupted || process.stderr.write(`restore-drill: ${printable(line)}\n`));

function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('restore-drill')
    .description('Proves backups can be restored: drills each archive in a fresh, disposable container and reports a verdict.')
    .version(TOOL_VERSION)
    // Before any subcommand exists: subcommands copy this setting when created.
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError()
    .addHelpText(
      'after',
      `
Exit codes: 0 all drills passed, 1 a drill failed, 2 usage error (nothing started),
3 a drill could not finish (error), 130 interrupted.
Debug output: DEBUG=restore-drill:* (namespaces cli, runtime, exec, image, engine, drill, walk).`,
    );

  const run = program
    .command('run')
    .description('drill archives: restore each into a fresh container and compare with its manifest')
    .addOption(OPTIONS.profile())
    .argument('<archive...>', 'backup archives, folders or globs, or locations (s3://BUCKET/KEY or PREFIX/, restic:REPO#SNAPSHOT:/PATH, rclone:REMOTE:PATH); each needs <archive>.manifest.json beside it or --manifest');
  withOptions(run, [...DRILL_OPTIONS, ...SELECTION_OPTIONS, ...SHARD_OPTIONS, ...SWARM_OPTIONS]).action(async (archives: string[], o: RunCliOptions & ShardCliOptions & SwarmCliOptions) => {
    const shard = {
      ...(o.shard ? { shard: o.shard } : {}),
      ...(o.runId !== undefined ? { runId: o.runId } : {}),
      ...(o.reportTo !== undefined ? { reportTo: o.reportTo } : {}),
    };
    const given = { ...runOptions(o), ...shard, profile: o.profile, archives, out, say };
    if (o.on === 'swarm') {
      const swarm = {
        ...(o.swarmSocketPath !== undefined ? { socketPath: o.swarmSocketPath } : {}),
        ...(o.shards !== undefined ? { shards: o.shards } : {}),
        ...(o.taskCpus !== undefined ? { taskCpus: o.taskCpus } : {}),
        ...(o.taskMemory !== undefined ? { taskMemoryBytes: o.taskMemory } : {}),
      };
      setExit(await runOnSwarmCommand({ ...given, swarm }));
      return;
    }
    for (const [set, flag] of [[o.swarmSocketPath, '--swarm-socket-path'], [o.shards, '--shards'], [o.taskCpus, '--task-cpus'], [o.taskMemory, '--task-memory']] as const) {
      if (set !== undefined) throw new UsageError(`${flag} is for --on swarm`, 'RD_USAGE');
    }
    setExit(await runCommand(given));
  });

  const merge = program
    .command('merge')
    .description(
      'combine the shard reports of one run (run --shard I/N) into its report, then report, record, sign and notify as a local run does; an archive whose shard never reported is error; exit code of the whole run',
    )
    .argument('<report...>', 'shard reports (shard-I-of-N.json files or s3:// objects), or the folders or s3://BUCKET/PREFIX/ locations they were written to (--report-to)');
  withOptions(merge, [...REPORT_OPTIONS, 'mergeRunId']).action(async (inputs: string[], o: ReportCliOptions & { runId?: string }) => {
    setExit(await mergeCommand({ ...reportOptions(o), ...(o.runId !== undefined ? { runId: o.runId } : {}), inputs, out, say }));
  });

  const gate = program
    .command('gate')
    .description('will this backup survive the upgrade? drill it with its own version, upgrade the restored data with the target version, check again')
    .addOption(OPTIONS.profile())
    .requiredOption('--archive <path>', 'the archive, or a folder or prefix (its newest archive): a path or a location (s3://, restic:, rclone:)')
    .requiredOption('--to-version <version>', 'the version to upgrade to', (v) => parseVersion(v, '--to-version'));
  withOptions(gate, DRILL_OPTIONS).action(async (o: RunCliOptions & { archive: string; toVersion: string }) => {
    setExit(await gateCommand({ ...runOptions(o), profile: o.profile, archive: o.archive, toVersion: o.toVersion, out, say }));
  });

  const evidence = program.command('evidence').description('signed, self-contained drill reports an auditor can check offline');
  evidence
    .command('keygen')
    .description('make an Ed25519 key pair for signing reports')
    .option('--out <prefix>', 'file prefix: writes PREFIX.key (0600) and PREFIX.pub', 'restore-drill-ed25519')
    .option('--force', 'replace existing files')
    .action(async (o: { out: string; force?: boolean }) => setExit(await keygenCommand({ ...o, out: o.out, print: out })));
  evidence
    .command('verify')
    .description('check signed evidence (REPORT.dsse.json or REPORT.intoto.jsonl) against a public key; exit 0 only when every signature holds')
    .argument('<report>', 'the signed report or attestation bundle written by run --sign')
    .requiredOption('--pubkey <file>', 'the signer\'s public key (PEM)')
    .action(async (report: string, o: { pubkey: string }) => setExit(await verifyCommand({ report, pubkey: o.pubkey, print: out })));

  program
    .command('history')
    .description('past drills: pass rate and restore-time trend; --coverage lists archives without a recent passed drill')
    .addOption(OPTIONS.someProfile())
    .option('--since <duration>', 'window, e.g. 30d, 12h, 2w', '30d')
    .addOption(OPTIONS.history())
    .option('--coverage', 'list archives with no passed drill within --max-age; exit 1 when there are any')
    .option('--max-age <duration>', 'for --coverage: how recent a passed drill must be', '7d')
    .option('--html <page>', 'write the recoverability page: per backup family the last passed drill, coverage gaps (no pass within --max-age), pass rate and a plot of recovery times over --since, each drill linked to its report; one self-contained HTML file')
    .argument('[paths...]', 'for --coverage: archives or folders of archives, or locations (s3:// prefixes, restic:, rclone:) (default: every archive in the history)')
    .action(async (paths: string[], o: { profile?: string; since: string; history?: string; coverage?: boolean; maxAge: string; html?: string }) =>
      setExit(await historyCommand({ ...o, paths, print: out })),
    );

  program
    .command('backup')
    .description('back up a live system the way the application does, with its manifest taken from the same snapshot')
    .addOption(OPTIONS.profile())
    .requiredOption('--source <url>', 'the live database, e.g. postgresql://user@host:5432/app (a password in it is never printed)')
    .requiredOption('--out <path>', 'where the archive goes; its manifest is written next to it')
    .addOption(OPTIONS.recordedSecrets())
    .addOption(OPTIONS.appVersion())
    .option('--network <name>', 'container network from which the database is reachable (default: the host network)')
    .action(async (o: { profile: string; source: string; out: string; secrets?: string; appVersion?: string; network?: string }) => {
      setExit(await backupCommand({ ...o, say }));
    });

  const manifest = program.command('manifest').description('expectations recorded at backup time');
  manifest
    .command('capture')
    .description('read a finished backup and write <archive>.manifest.json')
    .addOption(OPTIONS.profile())
    .requiredOption('--archive <path>', 'the backup archive: a path, or a location (s3://BUCKET/KEY, restic:REPO#SNAPSHOT:/PATH, rclone:REMOTE:PATH; then --out is needed)')
    .addOption(OPTIONS.recordedSecrets())
    .addOption(OPTIONS.appVersion())
    .option('--out <path>', 'where to write the manifest (default: next to the archive)')
    .option('--force', 'replace an existing manifest')
    .option('--sign <private-key>', 'also write <manifest>.dsse.json, an Ed25519 signature over the manifest (drills check it with --manifest-pubkey)')
    .option('--accept-empty', 'record that this backup may be empty (drills of an empty backup fail otherwise)')
    .addOption(new Option('--rto <duration>', "record a recovery-time budget, e.g. 15m: every drill of this archive over it fails").argParser((v) => parseDurationOption(v, '--rto', false)))
    .action(async (o: { profile: string; archive: string; secrets?: string; appVersion?: string; out?: string; force?: boolean; sign?: string; acceptEmpty?: boolean; rto?: number }) => {
      const { rto, ...rest } = o;
      setExit(await captureCommand({ ...rest, ...(rto !== undefined ? { rtoMs: rto } : {}), say }));
    });
  manifest
    .command('schema')
    .description('print the manifest JSON Schema')
    .action(() => {
      out(JSON.stringify(manifestJsonSchema(), null, 2));
    });
  program
    .command('report-schema')
    .description('print the JSON Schema of the JSON report')
    .action(() => {
      out(JSON.stringify(reportJsonSchema(), null, 2));
    });

  program
    .command('setup')
    .description('make this host ready: a container engine (installed and started as root on Debian), leftovers swept, images built')
    .addOption(OPTIONS.someProfile())
    .addOption(OPTIONS.appVersions())
    .addOption(OPTIONS.base())
    .option('--worker', "also build restore-drill's own worker image (for fleets)")
    .action(async (o: { profile?: string; appVersion?: string[]; base?: 'auto' | 'debootstrap' | 'registry'; worker?: boolean }) => {
      setExit(await setupCommand({ ...pick(o), ...(o.worker ? { worker: true } : {}), say }));
    });

  const images = program.command('images').description('images the drills run, built locally without a registry');
  images
    .command('build')
    .description('build (or find cached) images for profiles and versions')
    .addOption(OPTIONS.someProfile())
    .addOption(OPTIONS.appVersions())
    .addOption(OPTIONS.base())
    .option('--worker', "restore-drill's own worker image (alone, unless --profile or --app-version ask for more)")
    .action(async (o: { profile?: string; appVersion?: string[]; base?: 'auto' | 'debootstrap' | 'registry'; worker?: boolean }) => {
      setExit(await imagesBuild({ ...pick(o), ...(o.worker ? { worker: true } : {}), say, out }));
    });
  images
    .command('load')
    .description('make images present on other engines (fleet nodes) with the ids they have here: save into each load where missing, or --registry')
    .argument('[ref...]', 'images by reference, e.g. restore-drill/z4j:1.13.0-HASH')
    .requiredOption('--to <engine...>', 'engine addresses: unix:///path/docker.sock, tcp://HOST:PORT, ssh://USER@HOST')
    .option('--from <engine>', "the engine that has the images (default: this host's)")
    .addOption(OPTIONS.someProfile())
    .addOption(OPTIONS.appVersions())
    .addOption(OPTIONS.base())
    .option('--worker', "restore-drill's own worker image")
    .option('--registry <host[:port][/path]>', 'push each image once to this registry (one you run) and pull it by digest on every engine')
    .action(async (refs: string[], o: { to: string[]; from?: string; profile?: string; appVersion?: string[]; base?: 'auto' | 'debootstrap' | 'registry'; worker?: boolean; registry?: string }) => {
      setExit(
        await imagesLoad({
          ...pick(o),
          to: o.to,
          refs,
          ...(o.from ? { from: o.from } : {}),
          ...(o.worker ? { worker: true } : {}),
          ...(o.registry ? { registry: o.registry } : {}),
          say,
          out,
        }),
      );
    });
  images
    .command('list')
    .description('list restore-drill images')
    .action(async () => setExit(await imagesList({ out })));
  images
    .command('prune')
    .description('remove superseded images (older recipes of a version); --all removes every restore-drill image')
    .option('--all', 'remove every restore-drill image')
    .action(async (o: { all?: boolean }) => setExit(await imagesPrune({ ...o, out })));

  program
    .command('sweep')
    .description('remove labelled containers, networks, volumes, work folders and Swarm services and secrets (run --on swarm) left by harness processes that are gone')
    .option('--all', 'also remove those of harness processes still running')
    .action(async (o: { all?: boolean }) => setExit(await sweepCommand({ ...o, out })));

  program
    .command('profiles')
    .description('list the application profiles')
    .action(async () => {
      const { listProfiles } = await import('./profiles.ts');
      for (const p of listProfiles()) out(`${p.name}\t${p.defaultVersion}\t${p.summary}`);
    });

  program
    .command('demo')
    .description('make a sample deployment, back it up, capture its manifest and drill it')
    .option('--profile <name>', 'application profile (default: the first profile that has a demo)')
    .option('--out <dir>', 'where the sample backup and reports go', 'out/demo')
    .action(async (o: { profile?: string; out: string }) => setExit(await demoCommand({ ...o, say })));

  return program;
}

/** CLI option names to command options (--app-version is `version` inside). */
function pick(o: { profile?: string; appVersion?: string[]; base?: 'auto' | 'debootstrap' | 'registry' }) {
  return { ...(o.profile ? { profile: o.profile } : {}), ...(o.appVersion ? { version: o.appVersion } : {}), ...(o.base ? { base: o.base } : {}) };
}

/** The reporter options (REPORT_OPTIONS) as commander gives them. */
interface ReportCliOptions {
  reporter?: string[];
  json?: string;
  sign?: string;
  history: string | boolean;
  notify?: string;
  notifyOn?: 'failure' | 'always';
}

/** The reporter options as run, gate and merge take them. */
function reportOptions(o: ReportCliOptions) {
  return {
    ...(o.reporter ? { reporters: o.reporter } : {}),
    ...(o.json ? { json: o.json } : {}),
    ...(o.sign ? { sign: o.sign } : {}),
    ...(o.history === false ? { history: false as const } : typeof o.history === 'string' ? { history: o.history } : {}),
    ...(o.notify !== undefined ? { notify: o.notify } : {}),
    ...(o.notifyOn ? { notifyOn: o.notifyOn } : {}),
  };
}

interface ShardCliOptions {
  shard?: ShardSpec;
  runId?: string;
  reportTo?: string;
}

interface SwarmCliOptions {
  on?: 'local' | 'swarm';
  swarmSocketPath?: string;
  shards?: number;
  taskCpus?: number;
  taskMemory?: number;
}

interface RunCliOptions extends ReportCliOptions {
  profile: string;
  manifest?: string;
  secrets?: string;
  latest?: number;
  sample?: number;
  seed?: number;
  within?: number;
  oldestUndrilled?: number;
  jobs?: number;
  timeout?: number;
  deadline?: number;
  execTimeout?: number;
  acceptEmpty?: boolean;
  rto?: number;
  rtoWarn?: boolean;
  acceptDrop?: boolean;
  manifestPubkey?: string;
}

/** Options shared by run and gate, as the commands take them. */
function runOptions(o: RunCliOptions) {
  const selection = {
    ...(o.latest !== undefined ? { latest: o.latest } : {}),
    ...(o.sample !== undefined ? { sample: o.sample } : {}),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(o.within !== undefined ? { withinMs: o.within } : {}),
    ...(o.oldestUndrilled !== undefined ? { oldestUndrilled: o.oldestUndrilled } : {}),
  };
  if ((o.seed !== undefined || o.within !== undefined) && o.sample === undefined) {
    throw new UsageError('--seed and --within go with --sample', 'RD_USAGE');
  }
  return {
    ...(o.manifest ? { manifest: o.manifest } : {}),
    ...(o.secrets ? { secrets: o.secrets } : {}),
    ...reportOptions(o),
    ...(Object.keys(selection).length > 0 ? { selection } : {}),
    ...(o.jobs !== undefined ? { jobs: o.jobs } : {}),
    ...(o.timeout !== undefined ? { timeoutMs: o.timeout } : {}),
    ...(o.deadline !== undefined ? { deadlineMs: o.deadline } : {}),
    ...(o.acceptEmpty ? { acceptEmpty: true } : {}),
    ...(o.rto !== undefined ? { rtoMs: o.rto } : {}),
    ...(o.rtoWarn ? { rtoWarn: true } : {}),
    ...(o.acceptDrop ? { acceptDrop: true } : {}),
    ...(o.manifestPubkey ? { manifestPubkey: o.manifestPubkey } : {}),
    ...(o.execTimeout !== undefined ? { execTimeoutMs: o.execTimeout * 1000 } : {}),
  };
}

/**
 * Ctrl-C or SIGTERM: a command that registered an interrupt handler (run,
 * gate) stops its drills and writes a partial report; otherwise every
 * container this process started is removed and it exits 130. A second signal
 * removes what is left and exits at once.
 */
/** Removes this process's containers, then exits 130; after 10 s it exits whether or not removal finished. */
function exitAfterCleanup(): void {
  setTimeout(() => process.exit(ExitCode.interrupted), 10_000).unref();
  void stopAllContainers().finally(() => process.exit(ExitCode.interrupted));
}

export function installSignalHandlers(): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    // The command has ended and its code is decided (say 3, no engine): a signal now changes nothing.
    if (decided !== undefined) process.exit(decided);
    if (stopping) {
      // Second signal: remove what this process still has, then go, however long removal would take.
      interrupted = true;
      exitAfterCleanup();
      return;
    }
    stopping = true;
    const graceful = currentInterruptHandler();
    if (graceful) return graceful(signal); // the command ends its drills and writes its partial report
    say(`${signal}: removing the containers this process started; exiting with ${ExitCode.interrupted}`);
    interrupted = true;
    exitAfterCleanup();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/**
 * Parses a command line exactly as `main` would, running nothing: for checking
 * the commands written in examples and unit files. Throws on any problem.
 */
export async function checkCommandLine(args: string[]): Promise<void> {
  const program = buildProgram(() => {});
  const silence = (cmd: Command): void => {
    cmd.action(() => {});
    cmd.configureOutput({ writeErr: () => {}, writeOut: () => {} });
    for (const sub of cmd.commands) silence(sub);
  };
  for (const sub of program.commands) silence(sub);
  await program.parseAsync(['node', 'restore-drill', ...args]);
}

/** The exit code once the command has ended; a signal after that exits with it. */
let decided: number | undefined;

export async function main(argv: string[]): Promise<number> {
  // A fleet worker's Swarm task: its container removed once it exits, and exit 0 whatever the run's code (see swarm/worker-end.ts).
  const removal = isSwarmTask() ? scheduleOwnRemoval(async () => (await ensureEngine({ env: process.env })).docker) : undefined;
  let code = await outcome(argv);
  if (removal) code = await endSwarmTask(code, removal, say);
  decided = code;
  return code;
}

async function outcome(argv: string[]): Promise<number> {
  let code: number = ExitCode.passed;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync(argv);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      // Commander prints its own errors; ours (a bad option value) it leaves to us: one line, naming the option.
      if (e.code.startsWith('restore-drill.')) process.stderr.write(`restore-drill: ${printable(e.message)}\n`);
      return ExitCode.usage;
    }
    if (isRestoreDrillError(e) && !(e instanceof InternalError)) {
      process.stderr.write(`restore-drill: ${printable(e.message)}\n`);
      return e.exitCode;
    }
    // A broken rule of the harness's own, or an error no code names: a bug, said with its stack under the one code for it.
    process.stderr.write(`restore-drill: unexpected error (RD_INTERNAL: a bug, please report it)\n${(e as Error).stack ?? String(e)}\n`);
    return ExitCode.error;
  }
}

