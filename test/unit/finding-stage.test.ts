import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDrill } from '../../harness/drill/run-drill.ts';
import type { DrillPlan } from '../../harness/drill/plan.ts';
import type { Manifest } from '../../harness/manifest/schema.ts';
import type { Finding, Observations } from '../../harness/model/types.ts';
import type { DrillContext, DrillSession, Profile } from '../../harness/profile.ts';
import type { Runtime } from '../../harness/runtime/runtime.ts';
import type { Contract } from '../../harness/verdict/index.ts';

/**
 * A finding carries the stage it concerns as a field set by the harness: each
 * contract hook's findings are recorded in the stage whose observation it
 * judges (judgeArchive at inspect, judgeProvision at provision, judgeRestored
 * at probe, compareProfile at compare), whatever their ids say; and each hook
 * gets the profile's own observation types, typed, with no cast. The profile
 * here starts nothing: its session only returns what it "observed".
 */

interface SeenTypes {
  inspect: { entries: number };
  provision: { binary: string };
  probe: { said: string; atRest: number };
}

const dir = mkdtempSync(join(tmpdir(), 'rd-finding-stage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bytes = Buffer.from('an archive the fake profile reads nothing of\n');
const archive = join(dir, 'a.bin');
writeFileSync(archive, bytes);

// The ids say nothing of the stage (no stage prefix): only the field can.
const contract: Contract<SeenTypes> = {
  archiveRecordsVersion: false,
  manifestProblems: () => [],
  requiredChecks: () => ['x.archive', 'x.binary', 'x.restored', 'x.said'],
  emptiness: () => [],
  judgeArchive: (_m, seen) => [{ id: 'x.archive', status: 'pass', reason: `${seen.inspected?.entries} entries` }],
  judgeProvision: (_m, seen) => [{ id: 'x.binary', status: 'pass', reason: `binary ${seen.binary}` }],
  judgeRestored: (_m, seen, when) => [{ id: 'x.restored', status: seen.profile?.atRest === 2 ? 'pass' : 'fail', reason: `${seen.profile?.atRest} files at rest (${when})` }],
  compareProfile: (_m, obs: Observations<SeenTypes>): Finding[] => [
    { id: 'x.said', status: 'pass', reason: `said ${obs.profile?.said}; inspected ${obs.inspected?.entries}; provisioned ${obs.provisioned?.binary}` },
  ],
};

class FakeSession implements DrillSession<SeenTypes> {
  readonly #ctx: DrillContext;
  constructor(ctx: DrillContext) {
    this.#ctx = ctx;
  }
  async inspect() {
    return { inspected: { entries: 3 } };
  }
  async provision() {
    return { binary: '1.0.0' };
  }
  async restore() {
    this.#ctx.check({ id: 'restore.ran', status: 'pass', reason: 'the restore command ran' });
  }
  async probe() {
    this.#ctx.answered();
    return { restored: { counts: { rows: 1 }, fingerprints: {} }, profile: { said: 'ok', atRest: 2 } };
  }
}

const profile: Profile<string, SeenTypes> = {
  name: 'fake',
  summary: 'a profile that starts nothing',
  contract,
  defaultVersion: '1.0.0',
  image: (version) => ({ name: 'fake', version, dockerfile: '' }),
  capture: () => Promise.reject(new Error('not captured here')),
  session: (ctx) => new FakeSession(ctx),
};

const runtime: Runtime = {
  endpoint: 'none',
  image: async () => ({ tag: 'fake:1.0.0', id: 'sha256:fake', cacheHit: true }) as Awaited<ReturnType<Runtime['image']>>,
  start: () => Promise.reject(new Error('nothing is started in this test')),
  privateNetwork: () => Promise.reject(new Error('no network in this test')),
};

const manifest = {
  schemaVersion: 1,
  app: { name: 'fake', version: '1.0.0' },
  archive: { file: 'a.bin', format: 'bin', sha256: createHash('sha256').update(bytes).digest('hex'), sizeBytes: bytes.length, createdAt: '2026-12-01T00:00:00Z' },
  expectations: { counts: { rows: 1 }, fingerprints: {} },
} as unknown as Manifest;

const plan: DrillPlan = { archive, manifestPath: `${archive}.manifest.json`, manifestSha256: '0'.repeat(64), manifest, profile, secrets: undefined, policy: { acceptEmpty: false, acceptDrop: false } };

describe("a finding's stage is a field the harness sets where it is recorded or judged", () => {
  it('records each contract hook in the stage it concerns, with the typed observations, and passes', async () => {
    const r = await runDrill(plan, { runtime });
    const stageOf = (id: string) => r.checks.find((c) => c.id === id)?.stage;
    expect(stageOf('x.archive')).toBe('inspect');
    expect(stageOf('x.binary')).toBe('provision');
    expect(stageOf('restore.ran')).toBe('restore');
    expect(stageOf('x.restored')).toBe('probe');
    expect(stageOf('x.said')).toBe('compare');
    expect(r.checks.find((c) => c.id === 'x.said')?.reason).toBe('said ok; inspected 3; provisioned 1.0.0');
    expect(r.checks.find((c) => c.id === 'x.restored')?.reason).toBe('2 files at rest (restore)');
    expect(r.verdict).toBe('passed');
    // The session said when the restored application answered: the recovery time is measured.
    expect(r.recovery?.ms).toBeGreaterThanOrEqual(0);
  });

  it("a failing judgement of the restored data fails the probe stage and names it in the summary", async () => {
    const failing: Profile<string, SeenTypes> = {
      ...profile,
      session: (ctx) =>
        Object.assign(new FakeSession(ctx), {
          probe: async () => ({ profile: { said: 'ok', atRest: 1 } }),
        }),
    };
    const r = await runDrill({ ...plan, profile: failing }, { runtime });
    expect(r.verdict).toBe('failed');
    expect(r.summary).toBe('probe: 1 files at rest (restore)');
    expect(r.stages.find((s) => s.name === 'probe')?.status).toBe('failed');
  });
});
