import { mkdirSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { ExitCode, UsageError, errorMessage } from '../errors.ts';
import { checkOutputPath } from '../files/output-path.ts';
import { REPORT_PAYLOAD_TYPE, envelopeText, signEnvelope } from '../evidence/dsse.ts';
import { loadPrivateKey } from '../evidence/keys.ts';
import { attestationPath, signAttestations } from '../attestation/statement.ts';
import { History, historyLocation } from '../history/store.ts';
import { notifyRun, notifyTarget, type NotifyOn, type NotifyTarget } from '../notify/notify.ts';
import { createReporters, envelopePath, parseReporterSpecs, type ReporterSpec, type RunEndContext, type RunReport } from '../report/index.ts';
import { DEFAULT_JSON } from '../report/json.ts';
import { ReporterFanOut } from '../report/fan-out.ts';
import { folderStore, type ReportStore } from '../fleet/report-to.ts';
import { TOOL_VERSION } from '../version.ts';

/**
 * The end of a run, the same for every way a run's drills come together: a
 * local run (`run`), shard reports merged (`merge`), a fleet's tasks
 * (`run --on swarm`). Its options are the reporter options of the command line.
 */
export interface RunEndOptions {
  /** Reporter specs, NAME[=PATH]; default console. */
  reporters?: string[];
  /** Shorthand for the json reporter with this path. */
  json?: string;
  /** Ed25519 private key (PEM): sign the JSON report. */
  sign?: string;
  /** History file; false disables it. */
  history?: string | false;
  /** Post a summary to this URL when the run ends (default: $RESTORE_DRILL_NOTIFY); false: never (a shard is not the run). */
  notify?: string | false;
  /** Post on a run that did not pass (default) or on every run. */
  notifyOn?: NotifyOn;
  /** A shard's report location (--report-to) and the report's name there; its signed evidence goes beside it. */
  reportTo?: { store: ReportStore; name: string };
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
  out: (line: string) => void;
  say: (line: string) => void;
}

/**
 * A history file the user named (--history, RESTORE_DRILL_HISTORY) must go in
 * a folder that exists: a mistyped path is refused, nothing is made where it
 * points. The default one's folder, in the state dir, is made here.
 */
function prepareHistoryFolder({ path, named }: { path: string; named: boolean }): void {
  if (!named) {
    try {
      mkdirSync(dirname(resolve(path)), { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new UsageError(`history file ${path}: its folder cannot be made (${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}); name one with --history or RESTORE_DRILL_HISTORY, or give --no-history`, 'RD_OUTPUT_PATH');
    }
  }
  checkOutputPath(path, 'history file', { createParents: false });
}

/** What the end of a run needs, checked before anything starts. */
export interface PreparedRunEnd {
  /** Opens the history and makes the reporters: the run is about to start. */
  open(): RunEnd;
}

/** An open run end: the reporters the run reports to as it goes, then `finish`. */
export interface RunEnd {
  readonly reporters: ReporterFanOut;
  readonly history: History | undefined;
  /** When an archive (by its sha256) last passed a drill, from the history. */
  readonly lastPassed: ((profile: string, sha256: string) => Date | undefined) | undefined;
  /** Records one finished drill in the history (a failure to record is said, never costs the report). */
  record(report: RunReport['drills'][number]): void;
  /** Signed evidence, every reporter, the history's report link, the notification; returns the exit code. */
  finish(run: RunReport): Promise<number>;
  /**
   * `finish` for drills that ran elsewhere (shards, a fleet's tasks): each is
   * first recorded and shown as a local run shows a drill when it ends.
   */
  finishElsewhere(run: RunReport): Promise<number>;
  /** The run could not go on (no container engine, say): the failure a nightly notification exists for. */
  crashed(e: unknown, startedAt: string): Promise<void>;
  close(): void;
}

/**
 * Checks every place a result will be written, the signing key and the
 * notification URL before anything starts: a report that cannot be written
 * found out after an hour of drills is a lost run.
 */
export async function prepareRunEnd(opts: RunEndOptions): Promise<PreparedRunEnd> {
  const env = opts.env ?? process.env;
  const now = opts.now ?? (() => new Date());
  const specs = parseReporterSpecs(opts.reporters?.length ? opts.reporters : ['console']);
  if (opts.json && !specs.some((s) => s.name === 'json')) specs.push({ name: 'json', target: opts.json });
  // Signed evidence is of the JSON report: beside the one at --report-to, else beside the local one (made if missing).
  if (opts.sign && !opts.reportTo && !specs.some((s) => s.name === 'json')) specs.push({ name: 'json' });
  const signingKey = opts.sign ? loadPrivateKey(opts.sign) : undefined;
  const notify = opts.notify === false ? undefined : notifyTarget(opts.notify, opts.notifyOn, env);
  for (const s of specs) if (s.target) checkOutputPath(s.target, `${s.name} report`);
  const evidence = evidenceStore(specs, opts.reportTo);
  if (opts.reportTo) await opts.reportTo.store.check(opts.reportTo.name);
  if (signingKey) {
    await evidence.store.check(envelopePath(evidence.name), 'signed evidence');
    await evidence.store.check(attestationPath(evidence.name), 'signed attestations');
  }
  const historyFile = opts.history === false ? undefined : historyLocation(opts.history, env);
  if (historyFile) prepareHistoryFolder(historyFile);
  return {
    open: () => openRunEnd({ ...opts, env, now }, { specs, signingKey, notify, evidence, historyPath: historyFile?.path }),
  };
}

/** Where the signed envelope and attestations go: beside the shard report at --report-to, or beside the (first) JSON report. */
function evidenceStore(specs: ReporterSpec[], reportTo: RunEndOptions['reportTo']): { store: ReportStore; name: string } {
  if (reportTo) return reportTo;
  const json = resolve(specs.find((s) => s.name === 'json')?.target ?? DEFAULT_JSON);
  return { store: folderStore(dirname(json)), name: basename(json) };
}

function openRunEnd(
  opts: RunEndOptions & { env: NodeJS.ProcessEnv; now: () => Date },
  prepared: { specs: ReporterSpec[]; signingKey: KeyObject | undefined; notify: NotifyTarget | undefined; evidence: { store: ReportStore; name: string }; historyPath: string | undefined },
): RunEnd {
  const { specs, signingKey, notify, evidence } = prepared;
  const history = prepared.historyPath ? History.open(prepared.historyPath) : undefined;
  const lastPassed = history ? (p: string, sha256: string) => history.lastPassed(p, sha256) : undefined;
  const reporters = new ReporterFanOut(createReporters(specs, { env: opts.env, out: opts.out, err: process.stderr }), opts.say);
  const record = (report: RunReport['drills'][number]) => {
    // The report stands whatever befalls its record (a full disk, a reporter bug).
    try {
      history?.record(report);
    } catch (e) {
      opts.say(`warning: the drill of ${report.archive.path} could not be recorded in the history: ${errorMessage(e)}`);
    }
  };
  return {
    reporters,
    history,
    lastPassed,
    record,
    async finishElsewhere(run) {
      await reporters.onRunStart(run.drills.map((d) => d.archive.path));
      for (const d of run.drills) {
        record(d);
        reporters.onDrillEnd(d);
      }
      return this.finish(run);
    },
    async finish(run) {
      const ctx: RunEndContext = { ...(lastPassed ? { lastPassed } : {}) };
      let lost = false;
      const written: Array<{ reporter: string; path: string }> = [];
      // A piece of the report that cannot be written is said and counted lost; the others are still written.
      const put = async (what: string, name: string, text: string): Promise<string | undefined> => {
        try {
          return await evidence.store.put(name, text);
        } catch (e) {
          lost = true;
          opts.say(`error: the ${what} could not be written to ${evidence.store.where(name)}: ${errorMessage(e)}`);
          return undefined;
        }
      };
      if (signingKey) {
        const envelope = signEnvelope(Buffer.from(JSON.stringify(run, null, 2)), REPORT_PAYLOAD_TYPE, signingKey);
        const target = await put('signed evidence', envelopePath(evidence.name), envelopeText(envelope));
        if (target) {
          ctx.signature = { keyId: envelope.signatures[0]!.keyid, envelope: target };
          opts.say(`signed evidence: ${target}`);
          // The same evidence as in-toto attestations, per archive, for verifiers no one here wrote.
          const bundle = signAttestations(run, signingKey);
          if (bundle.count > 0) {
            const bundleTarget = await put('signed attestations', attestationPath(evidence.name), bundle.text);
            if (bundleTarget) {
              ctx.signature.attestations = bundleTarget;
              opts.say(`signed attestations: ${bundleTarget} (in-toto, ${bundle.count / 2} archive(s))`);
            }
          }
        }
      }
      if (opts.reportTo) {
        const where = await put('shard report', opts.reportTo.name, `${JSON.stringify(run, null, 2)}\n`);
        if (where) {
          written.push({ reporter: 'report-to', path: where });
          opts.say(`shard report: ${where}`);
        }
      }
      // One reporter failing (a full disk, a path gone since the start) does not cost the others their report.
      const outcome = await reporters.onRunEnd(run, ctx);
      written.push(...outcome.written);
      lost ||= outcome.lost;
      // Each drill links to the report a reader would open first (history --html).
      const linked = ['html', 'json', 'junit'].map((n) => outcome.written.find((w) => w.reporter === n)).find(Boolean);
      if (history && linked) {
        try {
          history.recordReport(run.drills.map((r) => r.drillId), linked.path);
        } catch (e) {
          opts.say(`warning: the report of this run could not be recorded in the history: ${errorMessage(e)}`);
        }
      }
      // A run whose drills passed but whose report was lost has not proven anything to anyone: error.
      const unwritten = lost && run.status === 'passed';
      const code = unwritten ? ExitCode.error : ExitCode[run.status];
      if (notify) {
        await notifyRun(notify, unwritten ? { ...run, status: 'error' } : run, { say: opts.say, reports: written, ...(unwritten ? { problem: 'a report could not be written (see the console)' } : {}) });
      }
      return code;
    },
    async crashed(e, startedAt) {
      if (!notify || e instanceof UsageError) return;
      const run: RunReport = { tool: { name: 'restore-drill', version: TOOL_VERSION }, status: 'error', startedAt, finishedAt: opts.now().toISOString(), drills: [] };
      await notifyRun(notify, run, { say: opts.say, problem: errorMessage(e) });
    },
    close() {
      history?.close();
    },
  };
}

/**
 * Opens the run end, runs `body` with it, and closes it whatever happens; a
 * run that could not go on is notified (`crashed`) before its error goes on.
 */
export async function withRunEnd(prepared: PreparedRunEnd, startedAt: () => string, body: (end: RunEnd) => Promise<number>): Promise<number> {
  const end = prepared.open();
  const at = startedAt();
  try {
    return await body(end);
  } catch (e) {
    await end.crashed(e, at);
    throw e;
  } finally {
    end.close();
  }
}

/**
 * The whole end of a run whose drills ran elsewhere (merged shard reports, a
 * fleet's tasks): checks, history, every reporter, signed evidence, the
 * notification, and the exit code of the whole, exactly as for a local run.
 * A caller that must check outputs before its drills start calls
 * prepareRunEnd first, then withRunEnd(prepared, ..., (end) => end.finishElsewhere(run)).
 */
export async function finishRun(run: RunReport, opts: RunEndOptions): Promise<number> {
  return withRunEnd(await prepareRunEnd(opts), () => run.startedAt, (end) => end.finishElsewhere(run));
}
