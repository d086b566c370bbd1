import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PNG_MAGIC } from '../helpers/png.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureEngine } from '../../harness/runtime/engine.ts';
import { makeZ4jDeployment, type Deployment } from '../../scenarios/z4j/sample/deployment.ts';
import { Z4J_PINNED_VERSION } from '../../scenarios/z4j/version.ts';
import { parseEnvFile } from '../../harness/model/secrets.ts';
import { RunReportSchema } from '../../harness/report/schema.ts';
import { capture } from '../helpers/drill.ts';
import { renderedText, screenshot } from '../helpers/chromium.ts';
import { skipReason } from './engine.ts';
import { thirdPartyPython } from '../helpers/third-party-python.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

/** Runs the CLI as a user would, watching every process and container while it runs. */
async function cli(args: string[], secrets: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string; leaks: string[] }> {
  const child = spawn(process.execPath, ['bin/restore-drill.mjs', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const leaks = new Set<string>();
  const { docker } = await ensureEngine();
  const watch = setInterval(() => {
    // Host processes: arguments and environments.
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      for (const f of ['cmdline', 'environ']) {
        try {
          const text = readFileSync(`/proc/${pid}/${f}`, 'latin1');
          for (const s of secrets) if (text.includes(s)) leaks.add(`/proc/${pid}/${f}`);
        } catch {
          /* gone or not ours to read */
        }
      }
    }
    // Containers: what `docker inspect` shows anyone with access to the engine.
    void docker.listContainers({ filters: JSON.stringify({ label: ['io.restore-drill.managed=true'] }) }).then(async (cs) => {
      for (const c of cs) {
        const info = await docker.getContainer(c.Id).inspect().catch(() => undefined);
        const text = JSON.stringify(info?.Config ?? {}) + JSON.stringify(info?.Args ?? []);
        for (const s of secrets) if (text.includes(s)) leaks.add(`docker inspect ${c.Id.slice(0, 12)}`);
      }
    });
  }, 50);
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  clearInterval(watch);
  return { code, stdout, stderr, leaks: [...leaks] };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe.skipIf(skipReason)('reports and evidence from a real drill', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-reports-'));
  const out = join(dir, 'out');
  let dep: Deployment;
  let secretValues: string[];

  beforeAll(async () => {
    const runtime = await testRuntime();
    dep = await makeZ4jDeployment({ runtime, version: Z4J_PINNED_VERSION, outDir: dir, name: 'nightly.db' });
    await capture('z4j', dep.archive, dep.secrets);
    secretValues = [...parseEnvFile(readFileSync(dep.secrets, 'utf8')).values()];
    expect(secretValues.length).toBeGreaterThanOrEqual(4);
    mkdirSync(out, { recursive: true });
  });

  it('writes every report, signs it, records history, and no secret appears anywhere', async () => {
    const key = join(dir, 'evidence');
    const kg = await cli(['evidence', 'keygen', '--out', key], secretValues);
    expect(kg.code).toBe(0);
    const run = await cli(
      [
        'run', '--profile', 'z4j', '--secrets', dep.secrets, dep.archive,
        '--reporter', `console,json=${out}/report.json,junit=${out}/junit.xml,markdown=${out}/summary.md`,
        '--reporter', `html=${out}/report.html`, '--reporter', `metrics=${out}/restore-drill.prom`,
        '--sign', `${key}.key`, '--history', `${out}/history.sqlite`,
      ],
      secretValues,
      { DEBUG: 'restore-drill:*', GITHUB_STEP_SUMMARY: `${out}/step-summary.md` },
    );
    expect(run.stderr).not.toMatch(/unexpected error/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^PASSED nightly\.db /m);

    const report = RunReportSchema.parse(JSON.parse(readFileSync(`${out}/report.json`, 'utf8')));
    expect(report.drills[0]!.verdict).toBe('passed');
    expect(readFileSync(`${out}/step-summary.md`, 'utf8')).toContain('| ✅ passed | `nightly.db` |');
    expect(readFileSync(`${out}/restore-drill.prom`, 'utf8')).toMatch(/^restore_drill_verdict\{profile="z4j",archive="nightly\.db",path="[^"]*\/nightly\.db",verdict="passed"\} 1$/m);

    const verified = await cli(['evidence', 'verify', `${out}/report.dsse.json`, '--pubkey', `${key}.pub`], secretValues);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain(`sha256 ${report.drills[0]!.archive.sha256}`);
    // The same drill as in-toto attestations: ours reads them, and so does a verifier no one here wrote.
    const attested = await cli(['evidence', 'verify', `${out}/report.intoto.jsonl`, '--pubkey', `${key}.pub`], secretValues);
    expect(attested.code).toBe(0);
    expect(attested.stdout).toMatch(new RegExp(`^  passed nightly\\.db sha256 ${report.drills[0]!.archive.sha256} .*, result PASSED$`, 'm'));
    const py = await thirdPartyPython();
    if ('python' in py) {
      const third = execFileSync(py.python, [resolve('scripts/verify-intoto.py'), `${out}/report.intoto.jsonl`, `${key}.pub`], { encoding: 'utf8' });
      expect(third).toContain(`PASSED nightly.db sha256:${report.drills[0]!.archive.sha256}`);
    } else {
      process.stderr.write(`reports: third-party in-toto check SKIPPED, ${py.skip}\n`);
    }

    const hist = await cli(['history', '--history', `${out}/history.sqlite`, '--coverage', '--max-age', '1d', dep.archive], secretValues);
    expect(hist.code).toBe(0);
    expect(hist.stdout).toContain('0 of 1 archives without a passed drill in the last 1d');

    // The secret hunt: every file written, every line printed, every process and container seen.
    const written = filesUnder(out).concat([`${dep.archive}.manifest.json`]);
    expect(written.length).toBeGreaterThanOrEqual(8);
    const found: string[] = [];
    for (const f of written) {
      const text = readFileSync(f, 'latin1');
      for (const s of secretValues) if (text.includes(s)) found.push(f);
    }
    for (const [name, text] of Object.entries({ stdout: run.stdout, stderr: run.stderr, verify: verified.stdout, history: hist.stdout })) {
      for (const s of secretValues) if (text.includes(s)) found.push(name);
    }
    expect(run.stderr).toContain('restore-drill:exec'); // debug output was on, and was searched too
    expect(found).toEqual([]);
    expect(run.leaks).toEqual([]);
  });

  it('the secret hunt itself works: it sees a secret put where it must not be', async () => {
    const r = await cli(['profiles'], secretValues, { PLANTED: secretValues[0]! });
    expect(r.code).toBe(0);
    expect(r.leaks.some((l) => l.endsWith('/environ'))).toBe(true);
  });

  it('renders the HTML report in headless Chromium', async () => {
    const html = resolve(`${out}/report.html`);
    const shots = resolve('out/test-screenshots');
    mkdirSync(shots, { recursive: true });
    const png = join(shots, 'html-report.png');
    screenshot(html, png);
    expect(readFileSync(png).subarray(0, 8)).toEqual(PNG_MAGIC);
    expect(statSync(png).size).toBeGreaterThan(20_000);
    const dom = renderedText(html);
    const report = RunReportSchema.parse(JSON.parse(readFileSync(`${out}/report.json`, 'utf8')));
    const d = report.drills[0]!;
    for (const must of [d.archive.sha256!, d.image!.id, d.app!.version, 'signed with Ed25519', 'report.intoto.jsonl', 'integrity.sha256', 'compare.chain.head']) expect(dom).toContain(must);
    // Self-contained: nothing to fetch when an auditor opens it offline.
    expect(readFileSync(html, 'utf8')).not.toMatch(/<script|<link|src=|url\(/);
  });
});
