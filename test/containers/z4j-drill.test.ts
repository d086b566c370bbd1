import { mkdtempSync, openSync, readFileSync, statSync, truncateSync, writeFileSync, closeSync, readSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeZ4jDeployment, type Deployment } from '../../scenarios/z4j/sample/deployment.ts';
import { Z4J_OLDER_VERSION, Z4J_PINNED_VERSION } from '../../scenarios/z4j/version.ts';
import { capture, captureRefusal, captureUnchecked, drill, failures, variant } from '../helpers/drill.ts';
import { changeOneMetadataByte, deleteEndRows, deleteMiddleRow, freezeNewestRows } from '../helpers/z4j-tamper.ts';
import { growChain } from '../../scenarios/z4j/sample/grow-chain.ts';
import { walkZ4jChain, walkZ4jChainFast } from '../../scenarios/z4j/sqlite-facts.ts';
import { openReadOnly } from '../../harness/checks/sqlite-db.ts';
import { skipReason } from './engine.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

describe.skipIf(skipReason)('z4j SQLite drill cases', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-z4j-cases-'));
  let good: Deployment;

  beforeAll(async () => {
    const runtime = await testRuntime();
    good = await makeZ4jDeployment({ runtime, version: Z4J_PINNED_VERSION, outDir: dir, name: 'good.db' });
    await capture('z4j', good.archive, good.secrets);
  });

  it('passes a good backup', async () => {
    const r = await drill('z4j', good.archive, { secrets: good.secrets });
    expect(failures(r)).toEqual([]);
    expect(r.verdict).toBe('passed');
    expect(r.image?.tag).toContain(`restore-drill/z4j:${Z4J_PINNED_VERSION}-`);
    const walked = r.checks.find((c) => c.id === 'compare.chain.walk');
    expect(walked?.reason).toMatch(/^all \d+ audit_log rows verify and link$/);
  });

  it('fails a backup where one audit row changed by one byte, naming the row', async () => {
    const archive = variant(good.archive, 'tampered.db');
    const rowId = changeOneMetadataByte(archive);
    // Capture refuses it, with the drill's words; a manifest recorded as it is (before that) is still caught.
    expect(await captureRefusal('z4j', archive, good.secrets)).toMatch(new RegExp(`row ${rowId} .*HMAC does not match`));
    await captureUnchecked(archive, good.secrets);
    const r = await drill('z4j', archive, { secrets: good.secrets });
    expect(r.verdict).toBe('failed');
    expect(failures(r).join('\n')).toContain(`audit_log row ${rowId}`);
    expect(r.summary).toMatch(new RegExp(`row ${rowId} .*HMAC does not match`));
  });

  it('fails with a different secret, saying the secret does not match (not corrupt data)', async () => {
    const other = join(dir, 'other.secret.env');
    const text = readFileSync(good.secrets, 'utf8').replace(/=(.*)$/gm, () => `=${randomBytes(36).toString('base64url')}`);
    writeFileSync(other, text, { mode: 0o600 });
    // The whole file is another install's: said before anything starts.
    const r = await drill('z4j', good.archive, { secrets: other });
    expect(r.verdict).toBe('failed');
    expect(r.summary).toMatch(/^integrity: secrets file .* is not the one recorded at capture .*: it has the same names .* with other values - it is not the secret.env of the install that made this backup/);
    expect(r.stages.map((s) => s.name)).toEqual(['fetch', 'integrity']);
    // A manifest that records this file (captured with it by mistake): the chain says the secret is not its signer.
    const mistaken = variant(good.archive, 'mistaken-secret.db');
    await captureUnchecked(mistaken, other);
    const m = await drill('z4j', mistaken, { secrets: other });
    expect(m.verdict).toBe('failed');
    expect(m.summary).toMatch(/the secret supplied is not the one that signed this audit chain/);
    expect(m.summary).not.toMatch(/corrupt data|damaged/);
  });

  it('fails with no secret supplied: secret material missing, naming the recorded file, before anything starts', async () => {
    const r = await drill('z4j', good.archive);
    expect(r.verdict).toBe('failed');
    expect(r.summary).toMatch(/^integrity: secret material missing: no secrets file was supplied \(--secrets\); the manifest records the one at .*\.secret\.env/);
    expect(r.stages.map((s) => s.name)).toEqual(['fetch', 'integrity']);
    expect(r.image).toBeUndefined();
  });

  it('fails a truncated backup at integrity, with the sizes', async () => {
    const archive = variant(good.archive, 'truncated.db');
    const size = statSync(archive).size;
    truncateSync(archive, Math.floor(size / 2));
    const r = await drill('z4j', archive, { secrets: good.secrets });
    expect(r.verdict).toBe('failed');
    expect(r.summary).toMatch(new RegExp(`^integrity: archive size ${Math.floor(size / 2)} bytes, manifest records ${size}`));
    expect(r.stages.map((s) => s.name)).toEqual(['fetch', 'integrity']);
  });

  it('fails a backup that was truncated before its checksum was taken, at inspect and restore', async () => {
    const archive = variant(good.archive, 'truncated-early.db');
    truncateSync(archive, Math.floor(statSync(archive).size / 2));
    const { sha256File } = await import('../../harness/archive/hash.ts');
    const sha = await sha256File(archive);
    const m = JSON.parse(readFileSync(`${archive}.manifest.json`, 'utf8')) as { archive: { sha256: string; sizeBytes: number } };
    m.archive.sha256 = sha;
    m.archive.sizeBytes = statSync(archive).size;
    writeFileSync(`${archive}.manifest.json`, JSON.stringify(m));
    const r = await drill('z4j', archive, { secrets: good.secrets });
    expect(r.verdict).toBe('failed');
    expect(r.summary).toMatch(/^inspect: the archive is a damaged SQLite file|^inspect: the archive cannot be read as a z4j database/);
    expect(failures(r).some((f) => f.startsWith('restore/restore.z4j-restore: z4j restore failed'))).toBe(true);
  });

  it('fails a same-size backup with one byte changed at sha256, before anything is started', async () => {
    const archive = variant(good.archive, 'flipped.db');
    const fd = openSync(archive, 'r+');
    const b = Buffer.alloc(1);
    const at = statSync(archive).size - 100;
    readSync(fd, b, 0, 1, at);
    b[0] = b[0]! ^ 0x01;
    writeSync(fd, b, 0, 1, at);
    closeSync(fd);
    const r = await drill('z4j', archive, { secrets: good.secrets });
    expect(r.verdict).toBe('failed');
    expect(r.summary).toMatch(/^integrity: archive sha256 \w+… does not match the manifest's/);
    expect(r.stages.map((s) => s.name)).toEqual(['fetch', 'integrity']);
    expect(r.image).toBeUndefined();
  });

  it('fails when a count expectation is off by one, naming table, expected and observed', async () => {
    const archive = variant(good.archive, 'count.db', (m) => {
      m.expectations.counts.users = (m.expectations.counts.users as number) + 1;
    });
    const r = await drill('z4j', archive, { secrets: good.secrets });
    const users = good.summary.counts as { users: number };
    expect(r.verdict).toBe('failed');
    expect(failures(r)).toContain(`compare/compare.count.users: users: expected ${users.users + 1} rows, observed ${users.users}`);
  });

  it('fails a backup with a row deleted from the middle: chain break at the following row', async () => {
    const archive = variant(good.archive, 'deleted.db');
    const { following } = deleteMiddleRow(archive);
    expect(await captureRefusal('z4j', archive, good.secrets)).toMatch(new RegExp(`chain break at row ${following}`));
    await captureUnchecked(archive, good.secrets);
    const r = await drill('z4j', archive, { secrets: good.secrets });
    expect(r.verdict).toBe('failed');
    expect(r.summary).toMatch(new RegExp(`chain break at row ${following}`));
  });

  // Each archive below is recorded after it was changed, so the manifest agrees
  // with it and the chain that is left links: only z4j's signed chain state
  // (held by the harness itself) tells the rows are gone. Capture refuses each
  // with that finding; the manifest is the one it wrote before it did.
  it.each([
    ['the newest rows deleted', 'newest.db', (a: string) => deleteEndRows(a, 'newest', 5), /the chain has \d+ active rows, its signed state says \d+.*newest rows deleted/],
    ['the oldest rows deleted without a signed prune', 'oldest.db', (a: string) => deleteEndRows(a, 'oldest', 5), /oldest rows were deleted without z4j's signed prune/],
    ['the newest rows marked legacy-frozen', 'frozen.db', (a: string) => freezeNewestRows(a, 5), /5 rows are marked legacy-frozen, the signed state says 0/],
  ])('fails a backup with %s, by the harness\'s own finding', async (_what, name, tamper, reason) => {
    const archive = variant(good.archive, name);
    tamper(archive);
    expect(await captureRefusal('z4j', archive, good.secrets)).toMatch(reason);
    await captureUnchecked(archive, good.secrets);
    const r = await drill('z4j', archive, { secrets: good.secrets });
    expect(r.verdict).toBe('failed');
    const own = r.checks.find((c) => c.id === 'inspect.chain-state');
    expect(own?.status).toBe('fail');
    expect(own?.reason).toMatch(reason);
  });

  it("drills a backup whose manifest records an older z4j with that version's image", async () => {
    const runtime = await testRuntime();
    const older = await makeZ4jDeployment({ runtime, version: Z4J_OLDER_VERSION, outDir: dir, name: 'older.db' });
    await capture('z4j', older.archive, older.secrets);
    const m = JSON.parse(readFileSync(`${older.archive}.manifest.json`, 'utf8')) as { app: { version: string } };
    expect(m.app.version).toBe(Z4J_OLDER_VERSION);
    const r = await drill('z4j', older.archive, { secrets: older.secrets });
    expect(r.image?.tag).toContain(`restore-drill/z4j:${Z4J_OLDER_VERSION}-`);
    expect(failures(r)).toEqual([]);
    expect(r.verdict).toBe('passed');
    expect(r.checks.find((c) => c.id === 'app.migration-head')?.reason).toContain(`z4j ${Z4J_OLDER_VERSION}'s migration head`);
  });

  it('walks a long real chain on all cores with exactly the findings of one thread', async () => {
    const grown = join(dir, 'grown.db');
    const secret = readFileSync(good.secrets, 'utf8').match(/^Z4J_AUDIT_CHAIN_SECRET=(.*)$/m)![1]!;
    growChain(good.archive, grown, secret, 60_000);
    const { following } = deleteMiddleRow(grown);
    const db = openReadOnly(grown);
    try {
      const one = walkZ4jChain(db, secret)!;
      const all = (await walkZ4jChainFast(db, grown, secret, 2))!;
      const { firstRowId: _ignored, ...oneWithoutFirst } = one;
      expect(all).toEqual(oneWithoutFirst);
      expect(all.length).toBe(59_999);
      expect(all.problems).toEqual([expect.objectContaining({ kind: 'chain-break', rowId: following })]);
    } finally {
      db.close();
    }
  });

  describe('a chain pruned by retention', () => {
    let pruned: Deployment;
    beforeAll(async () => {
      const runtime = await testRuntime();
      pruned = await makeZ4jDeployment({ runtime, version: Z4J_PINNED_VERSION, outDir: dir, name: 'pruned.db', backdateDays: 120, pruneFirst: 50 });
      await capture('z4j', pruned.archive, pruned.secrets);
    });

    it('passes when the manifest records the pruning', async () => {
      const m = JSON.parse(readFileSync(`${pruned.archive}.manifest.json`, 'utf8')) as { expectations: { chain: { startsAtGenesis: boolean } } };
      expect(m.expectations.chain.startsAtGenesis).toBe(false);
      const r = await drill('z4j', pruned.archive, { secrets: pruned.secrets });
      expect(failures(r)).toEqual([]);
      expect(r.verdict).toBe('passed');
    });

    it('fails as truncated when the manifest expects a genesis row', async () => {
      const archive = variant(pruned.archive, 'pruned-genesis.db', (m) => {
        m.expectations.chain!.startsAtGenesis = true;
        delete m.expectations.chain!.firstPrevHmac;
      });
      const r = await drill('z4j', archive, { secrets: pruned.secrets });
      expect(r.verdict).toBe('failed');
      expect(r.summary).toMatch(/chain truncated/);
    });
  });
});
