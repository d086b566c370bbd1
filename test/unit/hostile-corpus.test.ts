import { spawn, execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { createWriteStream, readFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import tar from 'tar-stream';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { readTarGz } from '../../harness/archive/tar-read.ts';
import { DumpFormatError, readDumpToc } from '../../harness/archive/pg-dump.ts';
import { walkDumpData } from '../../harness/archive/pg-dump-data.ts';
import { parseManifest } from '../../harness/manifest/load.ts';
import { parseEnvFile, SecretBag } from '../../harness/model/secrets.ts';
import { isRestoreDrillError } from '../../harness/errors.ts';
import { main } from '../../harness/cli.ts';
import { z4jProfile } from '../../scenarios/z4j/index.ts';
import { captureZ4j } from '../../scenarios/z4j/capture.ts';
import { makeDump, z4jTables } from '../helpers/pg-dump-fixture.ts';
import { fixtureSecretEnv, smallZ4jBackup } from '../helpers/z4j-small-backup.ts';
import { readZ4jSecretEnv } from '../../scenarios/z4j/secret-env.ts';
import { sampleRun } from '../helpers/sample-report.ts';
import { REPORT_PAYLOAD_TYPE, envelopeText, signEnvelope } from '../../harness/evidence/dsse.ts';
import { manifestSignaturePath, signManifestText } from '../../harness/manifest/signature.ts';
import { readSecretsFile } from '../../harness/files/secrets-file.ts';

/**
 * The project's own hostile corpus: seeded, generated damage to every input a
 * drill reads before any engine is involved. Each case must end in a finding
 * or a usage error - never a crash, a hang, a stack trace, a file outside the
 * test's folder, or a pass. Seeds are fixed so a failure reproduces.
 */
const SEED = 20261122;
const dir = mkdtempSync(join(tmpdir(), 'rd-hostile-'));

/** One random damage to some bytes: flip bytes, cut the end, splice in junk. */
const damage = (size: number) =>
  fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.array(fc.nat({ max: Math.max(0, size - 1) }), { minLength: 1, maxLength: 8 }), xor: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat({ max: Math.max(0, size - 1) }) }),
    fc.record({ kind: fc.constant('splice' as const), at: fc.nat({ max: size }), junk: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  );
type Damage = { kind: 'flip'; at: number[]; xor: number } | { kind: 'cut'; at: number } | { kind: 'splice'; at: number; junk: Uint8Array };

function apply(b: Buffer, d: Damage): Buffer {
  if (d.kind === 'cut') return b.subarray(0, d.at);
  if (d.kind === 'splice') return Buffer.concat([b.subarray(0, d.at), Buffer.from(d.junk), b.subarray(d.at)]);
  const c = Buffer.from(b);
  for (const i of d.at) c[i] = c[i]! ^ d.xor;
  return c;
}

/** Every path under a folder, for "nothing written outside". */
function tree(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true }).map((e) => join(e.parentPath, e.name));
}

let tarGz: Buffer;
let dump: Buffer;
let sqlite: Buffer;

beforeAll(async () => {
  const pack = tar.pack();
  pack.entry({ name: 'backup.json' }, '{"id":"b","created_at":"2026-11-22T00:00:00Z","scope":"instance","tenant":null}');
  pack.entry({ name: 'data/', type: 'directory' });
  pack.entry({ name: 'data/master.key' }, Buffer.alloc(32, 3));
  pack.entry({ name: 'data/platform.db' }, Buffer.alloc(8192, 5));
  pack.entry({ name: 'data/tenants/t/store.db' }, Buffer.from(Array.from({ length: 6000 }, (_, i) => (i * 7919) & 255)));
  pack.finalize();
  await pipeline(pack, createGzip(), createWriteStream(join(dir, 'good.tar.gz')));
  tarGz = readFileSync(join(dir, 'good.tar.gz'));
  dump = makeDump({ tables: z4jTables(40) });
  const db = new Database(join(dir, 'z4j.db'));
  db.exec("CREATE TABLE z4j_meta (key TEXT, value TEXT); INSERT INTO z4j_meta VALUES ('schema_version', '1.13.0'); CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT);");
  for (let i = 0; i < 200; i++) db.prepare('INSERT INTO users VALUES (?, ?)').run(`u${i}`, 'x'.repeat(50));
  db.close();
  sqlite = readFileSync(join(dir, 'z4j.db'));
});

describe('hostile corpus (no engine)', () => {
  it('tar.gz: 120 damaged archives each end in findings or a clean read, nothing written outside the target folder', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(damage(4096), async (d) => {
        const p = join(dir, `t${++n}.tar.gz`);
        writeFileSync(p, apply(tarGz, d));
        const out = join(dir, `t${n}-out`);
        mkdirSync(out);
        const r = await readTarGz(p, { extractTo: out });
        if (!r.complete) expect(r.findings.length).toBeGreaterThan(0);
        for (const f of r.findings) expect(f.reason).not.toMatch(/\n|^\s+at /);
        for (const path of tree(out)) expect(path.startsWith(out)).toBe(true);
      }),
      { seed: SEED, numRuns: 120 },
    );
  });

  it('pg_dump: 120 damaged dumps end in a format error naming what is wrong, or data-walk problems; never another exception', async () => {
    await fc.assert(
      fc.asyncProperty(damage(dump.length), async (d) => {
        const p = join(dir, 'd.dump');
        writeFileSync(p, apply(dump, d));
        let toc;
        try {
          toc = readDumpToc(p);
        } catch (e) {
          expect(e).toBeInstanceOf(DumpFormatError);
          return;
        }
        const walk = await walkDumpData(p, toc);
        for (const problem of walk.problems) expect(problem).not.toMatch(/^\s+at /m);
      }),
      { seed: SEED, numRuns: 120 },
    );
  });

  it('SQLite: 60 damaged database files captured end in a manifest or one usage error (exit 2), never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(damage(sqlite.length), async (d) => {
        const p = join(dir, 'z.db');
        writeFileSync(p, apply(sqlite, d));
        try {
          await captureZ4j({ archive: p });
        } catch (e) {
          // Refused as a usage error (not z4j, damaged, unreadable): one line, never SQLite's own exception.
          expect([String(e), isRestoreDrillError(e) && (e as { exitCode: number }).exitCode]).toEqual([String(e), 2]);
          expect((e as Error).message.split('\n')).toHaveLength(1);
        }
      }),
      { seed: SEED, numRuns: 60 },
    );
  });

  it('SQLite: 60 damaged real z4j backups (real signatures) captured with their secret.env end in a manifest or one usage error', async () => {
    const source = readFileSync(smallZ4jBackup(dir, 'z4j-small.db'));
    const secrets = readSecretsFile(fixtureSecretEnv(dir, 'z4j-small.env'));
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(damage(source.length), async (d) => {
        const p = join(dir, 'zs.db');
        writeFileSync(p, apply(source, d));
        try {
          await captureZ4j({ archive: p, secrets });
        } catch (e) {
          refused++;
          expect([String(e), isRestoreDrillError(e) && (e as { exitCode: number }).exitCode]).toEqual([String(e), 2]);
          expect((e as Error).message).not.toMatch(/\n|SqliteError/);
        }
      }),
      { seed: SEED, numRuns: 60 },
    );
    expect(refused).toBeGreaterThan(20);
  });

  it('manifests: 150 mutated real manifests are refused with a usage error or held to the contract; none loosens it unnoticed', () => {
    const real = JSON.parse(readFileSync(new URL('./fixtures/manifests/z4j-sqlite-1.13.0.manifest.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    const paths = (v: unknown, at: string[] = []): string[][] =>
      v !== null && typeof v === 'object' ? [at, ...Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => paths(x, [...at, k]))] : [at];
    const all = paths(real).filter((p) => p.length > 0);
    const junk = fc.oneof(fc.constant(undefined), fc.constant(null), fc.integer(), fc.double(), fc.string(), fc.constant({}), fc.constant([]), fc.constant('../../etc/passwd'));
    fc.assert(
      fc.property(fc.constantFrom(...all), junk, (path, value) => {
        const m = structuredClone(real);
        let at: Record<string, unknown> = m;
        for (const k of path.slice(0, -1)) at = at[k] as Record<string, unknown>;
        if (value === undefined) delete at[path.at(-1)!];
        else at[path.at(-1)!] = value;
        let parsed;
        try {
          parsed = parseManifest(m);
        } catch (e) {
          expect(isRestoreDrillError(e)).toBe(true);
          return;
        }
        // Valid by schema: the contract either refuses it or it still names every table and the chain.
        if (z4jProfile.contract.manifestProblems(parsed).length > 0) return;
        expect(Object.keys(parsed.expectations.counts).sort()).toEqual(['agents', 'audit_log', 'projects', 'sessions', 'tasks', 'users']);
        expect(parsed.expectations.chain).toBeDefined();
      }),
      { seed: SEED, numRuns: 150 },
    );
  });

  it('secrets files: 200 arbitrary texts parse without throwing, keys only of the KEY=VALUE shape', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
        for (const k of parseEnvFile(text).keys()) expect(k).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
        // z4j's reader (as the harness reads it for the z4j profile): names z4j knows, or a one-line refusal.
        const z = readZ4jSecretEnv(Buffer.from(text, 'latin1'));
        if (z.ok) for (const k of z.values.keys()) expect(k).toMatch(/^Z4J_[A-Z_]+$/);
        else expect(z.problem).not.toMatch(/\n/);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });
});

describe('hostile command lines (no engine)', () => {
  let stderr: string[];
  beforeEach(() => {
    stderr = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (stderr.push(String(s)), true));
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.stubEnv('DOCKER_HOST', 'unix:///nonexistent/restore-drill-test.sock');
    vi.stubEnv('RESTORE_DRILL_HISTORY', join(dir, 'history.sqlite'));
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it('JSON nested 10,000 levels deep, as a manifest, a manifest signature or a signed report, is refused in one line, no RangeError', async () => {
    const w = join(dir, 'deep');
    mkdirSync(w, { recursive: true });
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const archive = join(w, 'a.db');
    writeFileSync(archive, sqlite);
    writeFileSync(join(w, 'deep.json'), deep);
    const { publicKey } = generateKeyPairSync('ed25519');
    writeFileSync(join(w, 'k.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    const manifest = `${archive}.manifest.json`;
    copyFileSync(new URL('./fixtures/manifests/z4j-sqlite-1.13.0.manifest.json', import.meta.url), manifest);
    writeFileSync(manifestSignaturePath(manifest), deep);
    const cases: Array<[string[], number, RegExp]> = [
      [['run', '--profile', 'z4j', '--no-history', '--manifest', join(w, 'deep.json'), archive], 2, /manifest .*deep\.json is not JSON: it nests more than 64 levels deep/],
      [['run', '--profile', 'z4j', '--no-history', '--manifest-pubkey', join(w, 'k.pub'), archive], 2, /\.dsse\.json is not a signed envelope \(not JSON: it nests more than 64 levels deep\)/],
      [['evidence', 'verify', join(w, 'deep.json'), '--pubkey', join(w, 'k.pub')], 1, /^$/],
    ];
    for (const [args, code, says] of cases) {
      stderr.length = 0;
      expect([args.join(' '), await main(['node', 'restore-drill', ...args])]).toEqual([args.join(' '), code]);
      const text = stderr.join('');
      expect(text).not.toMatch(/RangeError|unexpected error|^\s+at /m);
      expect(text.trim()).toMatch(says);
    }
  });

  it('100 generated command lines end 2 or 3 with one line and no stack trace, never 0', async () => {
    const codes = new Set<number>();
    mkdirSync(join(dir, 'gen'), { recursive: true });
    const archive = join(dir, 'cli.db');
    writeFileSync(archive, sqlite);
    // A complete manifest beside it: bad options must be caught on their own, not by a missing manifest.
    writeFileSync(`${archive}.manifest.json`, readFileSync(new URL('./fixtures/manifests/z4j-sqlite-1.13.0.manifest.json', import.meta.url)));
    // Values for options that take a number or a duration, and for options that take a path
    // (paths stay inside the test's folder or name special files: nothing lands in the repository).
    const value = fc.oneof(fc.constantFrom('0', '-1', 'abc', '1ms', '99999999999d', '', '1.13.0;id', '../..', 'x\nFAILED y.db'), fc.string({ maxLength: 12 }));
    const pathValue = fc.oneof(
      fc.constantFrom('', '.', '/proc/version', '/dev/zero', '/nonexistent/f', join(dir, 'x\nFAILED y.db'), join(dir, 'nested', 'deeper', 'f.json')),
      fc.string({ maxLength: 12 }).map((s) => join(dir, 'gen', s.replace(/\//g, '_') || 'empty')),
    );
    const numeric = fc.tuple(fc.constantFrom('--jobs', '--timeout', '--deadline', '--exec-timeout', '--latest', '--sample', '--seed', '--within'), value);
    const pathy = fc.tuple(fc.constantFrom('--manifest', '--secrets', '--json', '--history', '--sign', '--manifest-pubkey'), pathValue);
    const reporter = fc.tuple(fc.constant('--reporter'), fc.oneof(fc.constantFrom('nope', 'junit=/proc/version', 'json=.'), pathValue.map((p) => `junit=${p}`)));
    const option = fc.oneof(numeric, pathy, reporter);
    await fc.assert(
      fc.asyncProperty(fc.array(option, { minLength: 1, maxLength: 3 }), async (opts) => {
        stderr.length = 0;
        const args = ['run', '--profile', 'z4j', '--no-history', ...opts.map(([o, v]) => `${o}=${v}`), archive];
        const code = await main(['node', 'restore-drill', ...args]);
        expect([args.join(' '), code === 2 || code === 3]).toEqual([args.join(' '), true]);
        codes.add(code);
        const text = stderr.join('');
        expect(text).not.toMatch(/unexpected error|^\s+at /m);
        expect(text.trim().split('\n').filter((l) => l.startsWith('restore-drill:')).length).toBeGreaterThanOrEqual(1);
      }),
      { seed: SEED, numRuns: 100 },
    );
    // Both kinds were reached: refused input (2) and input that got as far as the (absent) engine (3).
    expect([...codes].sort()).toEqual([2, 3]);
  });
});

/**
 * Every file a user can name, replaced by what would hang or swamp a careless
 * read: a FIFO with no writer, a device that never ends (/dev/zero), a folder,
 * and a sparse file of 64 GiB. The real CLI runs as a child process, each case
 * under its own time limit, so a hang fails the case instead of stalling the
 * suite; each must end at once with exit 2 and one line naming the file.
 */
describe('hostile files, for every file a user names (the real CLI)', () => {
  const root = mkdtempSync(join(tmpdir(), 'rd-hostile-files-'));
  const CASE_TIMEOUT_MS = 20_000;
  type Kind = 'FIFO' | 'device' | 'folder' | 'huge';
  const KINDS: Kind[] = ['FIFO', 'device', 'folder', 'huge'];

  /** Puts the hostile thing at `at`; a device is a symbolic link to /dev/zero where the path is fixed, /dev/zero itself otherwise. */
  function place(kind: Kind, at: string, fixed: boolean): string {
    rmSync(at, { recursive: true, force: true });
    if (kind === 'FIFO') execFileSync('mkfifo', [at]);
    else if (kind === 'folder') mkdirSync(at);
    else if (kind === 'huge') {
      writeFileSync(at, '');
      truncateSync(at, 64 * 2 ** 30);
    } else if (fixed) symlinkSync('/dev/zero', at);
    else return '/dev/zero';
    return at;
  }

  function cli(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
    return new Promise((done, fail) => {
      const child = spawn(process.execPath, [new URL('../../bin/restore-drill.mjs', import.meta.url).pathname, ...args], {
        env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent/restore-drill-test.sock', RESTORE_DRILL_HISTORY: join(root, 'history.sqlite'), DEBUG: '' },
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: CASE_TIMEOUT_MS,
        // SIGKILL: a process stuck in a synchronous read never gets to handle SIGTERM (the very fault this finds).
        killSignal: 'SIGKILL',
      });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      child.on('error', fail);
      child.on('close', (code, signal) => done({ code, signal, stderr }));
    });
  }

  // Each input: where the user names it, and how the CLI is called with the hostile path H.
  interface Input {
    name: string;
    /** A fixed place (beside an archive or a manifest) rather than a path given on the command line. */
    fixed?: string;
    args: (h: string, w: string) => string[];
    /** What the one line says, by kind. */
    says: RegExp;
    kinds?: Kind[];
  }

  function setup(w: string) {
    mkdirSync(w, { recursive: true });
    const archive = join(w, 'a.db');
    writeFileSync(archive, sqlite);
    const manifest = `${archive}.manifest.json`;
    copyFileSync(new URL('./fixtures/manifests/z4j-sqlite-1.13.0.manifest.json', import.meta.url), manifest);
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    writeFileSync(join(w, 'k.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(w, 'k.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(manifestSignaturePath(manifest), signManifestText(readFileSync(manifest), privateKey));
    writeFileSync(join(w, 'r.dsse.json'), envelopeText(signEnvelope(Buffer.from(JSON.stringify(sampleRun(), null, 2)), REPORT_PAYLOAD_TYPE, privateKey)));
    writeFileSync(join(w, 's.env'), 'Z4J_SECRET=0123456789abcdef\n', { mode: 0o600 });
    return { archive, manifest };
  }

  const refusedRead = /is not a regular file \((a FIFO|a device|a folder)\)|is \d+ bytes, more than the \d+/;
  const inputs: Input[] = [
    { name: 'run --manifest', args: (h, w) => ['run', '--profile', 'z4j', '--no-history', '--manifest', h, join(w, 'a.db')], says: new RegExp(`manifest .* (${refusedRead.source})`) },
    { name: 'run: the manifest beside the archive', fixed: 'a.db.manifest.json', args: (_h, w) => ['run', '--profile', 'z4j', '--no-history', join(w, 'a.db')], says: new RegExp(`manifest .* (${refusedRead.source})`) },
    { name: 'run --secrets', args: (h, w) => ['run', '--profile', 'z4j', '--no-history', '--secrets', h, join(w, 'a.db')], says: new RegExp(`secrets file .* (${refusedRead.source})`) },
    { name: 'run --sign', args: (h, w) => ['run', '--profile', 'z4j', '--no-history', '--sign', h, join(w, 'a.db')], says: new RegExp(`key .* (${refusedRead.source})`) },
    { name: 'run --manifest-pubkey', args: (h, w) => ['run', '--profile', 'z4j', '--no-history', '--manifest-pubkey', h, join(w, 'a.db')], says: new RegExp(`key .* (${refusedRead.source})`) },
    {
      name: 'run: the manifest signature (MANIFEST.dsse.json)',
      fixed: 'a.db.manifest.json.dsse.json',
      args: (_h, w) => ['run', '--profile', 'z4j', '--no-history', '--manifest-pubkey', join(w, 'k.pub'), join(w, 'a.db')],
      says: new RegExp(`manifest signature .* (${refusedRead.source})`),
    },
    { name: 'run: the archive', args: (h) => ['run', '--profile', 'z4j', '--no-history', h], says: /archive .* is not a file|holds no archive/, kinds: ['FIFO', 'device', 'folder'] },
    { name: 'run --history', args: (h, w) => ['run', '--profile', 'z4j', '--history', h, join(w, 'a.db')], says: /history file .* (is not a regular file|is a folder|is not a restore-drill history)/ },
    { name: 'gate --archive', args: (h) => ['gate', '--profile', 'z4j', '--no-history', '--to-version', '1.14.0', '--archive', h], says: /archive .* is not a file|holds no archive/, kinds: ['FIFO', 'device', 'folder'] },
    { name: 'manifest capture --archive', args: (h, w) => ['manifest', 'capture', '--profile', 'z4j', '--archive', h, '--out', join(w, 'out.json')], says: /archive .* is not a file|neither a SQLite database nor a pg_dump/ },
    { name: 'manifest capture --secrets', args: (h, w) => ['manifest', 'capture', '--profile', 'z4j', '--archive', join(w, 'a.db'), '--secrets', h, '--out', join(w, 'out.json')], says: new RegExp(`secrets file .* (${refusedRead.source})`) },
    { name: 'manifest capture --sign', args: (h, w) => ['manifest', 'capture', '--profile', 'z4j', '--archive', join(w, 'a.db'), '--sign', h, '--out', join(w, 'out.json')], says: new RegExp(`key .* (${refusedRead.source})`) },
    { name: 'evidence verify REPORT', args: (h, w) => ['evidence', 'verify', h, '--pubkey', join(w, 'k.pub')], says: new RegExp(`signed report .* (${refusedRead.source})`) },
    { name: 'evidence verify --pubkey', args: (h, w) => ['evidence', 'verify', join(w, 'r.dsse.json'), '--pubkey', h], says: new RegExp(`key .* (${refusedRead.source})`) },
    { name: 'evidence keygen --out (the key files)', fixed: 'new.key', args: (_h, w) => ['evidence', 'keygen', '--force', '--out', join(w, 'new')], says: /private key .* (is not a regular file|is a folder)/, kinds: ['FIFO', 'device', 'folder'] },
    { name: 'history --history', args: (h) => ['history', '--history', h], says: /history file .* (is not a regular file|is not a restore-drill history)/ },
  ];
  const cases = inputs.flatMap((input) => (input.kinds ?? KINDS).map((kind) => ({ input, kind })));

  it(`refuses ${cases.length} hostile files at once: exit 2, one line naming the file, no stack trace, no hang`, async () => {
    const results: string[] = [];
    let next = 0;
    // A few at a time: each case is a process of its own.
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = next++; i < cases.length; i = next++) {
          const { input, kind } = cases[i]!;
          const w = join(root, `c${i}`);
          setup(w);
          const h = place(kind, join(w, input.fixed ?? 'hostile'), input.fixed !== undefined);
          const r = await cli(input.args(h, w));
          const lines = r.stderr.trim().split('\n');
          const ok = r.signal === null && r.code === 2 && lines.length === 1 && lines[0]!.startsWith('restore-drill: ') && input.says.test(lines[0]!) && !/unexpected error|^\s+at /m.test(r.stderr);
          if (!ok) results.push(`${input.name} [${kind}]: ${r.signal ? `killed by ${r.signal} after ${CASE_TIMEOUT_MS} ms (a hang)` : `exit ${r.code}`}: ${r.stderr.trim()}`);
          rmSync(w, { recursive: true, force: true });
        }
      }),
    );
    expect(results).toEqual([]);
  }, 300_000);
});
