import type { ChainObservation, DataFacts, Finding, Observations } from '../model/types.ts';
import { SHARP_DROP_MIN_PREVIOUS, SHARP_DROP_RATIO, type Contract, type Policy } from './contract.ts';
import type { ChainExpectation, CountExpectation, Manifest } from '../manifest/schema.ts';

export interface CompareInput {
  manifest: Manifest;
  contract: Contract;
  obs: Observations;
  policy: Policy;
  /** The manifest of the previous backup in the same folder, for the sharp-drop policy. */
  previous?: { manifest: Manifest; path: string };
  /** After a gate's upgrade: the revision moved on; archive, secrets and policy were judged before. */
  afterUpgrade?: boolean;
  /** What runDrill judged before anything started, not judged again: the secrets file, the archive's own facts. */
  judgedBeforeStart?: { secrets?: boolean; archive?: boolean };
}

/**
 * The one comparison: every observation of the drill (the archive's own facts,
 * the restored data as the harness read it, the profile's own observations)
 * against the manifest and the profile's contract. Every expectation yields a
 * check; an expectation not observed is an error, and an observation the
 * manifest does not cover is a failure, never silently ignored.
 */
export function compareAll(input: CompareInput): Finding[] {
  const { manifest, obs } = input;
  const out: Finding[] = [];
  if (!input.afterUpgrade) {
    if (!input.judgedBeforeStart?.secrets) out.push(...compareSecrets(manifest, obs));
    if (!input.judgedBeforeStart?.archive) out.push(...compareArchiveFacts(manifest, obs.archive, input.contract));
    out.push(...comparePolicy(input));
  }
  if (!obs.restored) out.push({ id: 'compare.restored', status: 'error', reason: 'the restored data was not read, so nothing could be compared with the manifest' });
  else out.push(...compareData(manifest, obs.restored, { revision: !input.afterUpgrade }));
  out.push(...input.contract.compareProfile(manifest, obs, input.afterUpgrade ? 'upgrade' : 'restore'));
  return input.afterUpgrade ? out.map((f) => ({ ...f, id: f.id.replace(/^compare\./, 'upgrade.') })) : out;
}

/**
 * The secrets file supplied against the one recorded at capture: as the
 * application reads it (names and values, the profile's digest) where the
 * manifest records that, so a reformatted or reordered file passes; by its
 * bytes for manifests captured before. Another install's file is named, its
 * values never. Judged before anything starts.
 */
export function compareSecrets(manifest: Manifest, obs: Observations): Finding[] {
  const rec = manifest.secrets;
  if (!rec || (rec.fileSha256 === undefined && rec.readSha256 === undefined)) return [];
  const id = 'compare.secrets-file';
  const file = `secrets file ${obs.secretsSource ?? '(supplied)'}`;
  if (obs.secretsFileSha256 === undefined) return [{ id, status: 'fail', reason: `secret material missing: no secrets file was supplied (--secrets); the manifest records the one at ${rec.reference}, captured with this backup` }];
  const read = obs.secretsRead;
  if (read && !read.ok) return [{ id, status: 'fail', reason: `${file} cannot be used: ${read.problem}` }];
  const sameBytes = rec.fileSha256 !== undefined && obs.secretsFileSha256 === rec.fileSha256;
  if (rec.readSha256 !== undefined) {
    if (read?.ok && read.sha256 === rec.readSha256) {
      const how = sameBytes ? 'same bytes' : 'its bytes differ (line ends, comments, spacing or order), which the application reads the same';
      return [{ id, status: 'pass', reason: `${file} holds the names and values recorded at capture (${how})`, expected: rec.readSha256, observed: read.sha256 }];
    }
    if (!read) {
      // A profile without a reader of its own cannot judge the digest; the very same bytes read the same.
      return sameBytes
        ? [{ id, status: 'pass', reason: `${file} is the one recorded at capture (same sha256)` }]
        : [{ id, status: 'error', reason: `the manifest records the secrets file as the application reads it, but the ${manifest.app.name} profile has no reader for it, and ${file} is not the same bytes` }];
    }
    const missing = rec.names.filter((n) => !read.names.includes(n));
    const extra = read.names.filter((n) => !rec.names.includes(n));
    const what =
      missing.length + extra.length > 0
        ? [missing.length ? `it lacks ${missing.join(', ')}` : '', extra.length ? `it has ${extra.join(', ')}, which the recorded file had not` : ''].filter(Boolean).join(' and ')
        : `it has the same names (${read.names.join(', ')}) with other values`;
    return [
      {
        id,
        status: 'fail',
        reason: `${file} is not the one recorded at capture (${rec.reference}): ${what} - it is not the secret.env of the install that made this backup, or it changed since`,
        expected: rec.readSha256,
        observed: read.sha256,
      },
    ];
  }
  if (sameBytes) return [{ id, status: 'pass', reason: `${file} is the one recorded at capture (same sha256)` }];
  return [
    {
      id,
      status: 'fail',
      reason:
        `${file} differs from the one recorded at capture (${rec.reference}): its sha256 is ${short(obs.secretsFileSha256)}, the manifest records ${short(rec.fileSha256)} - it is not the secret.env of the install that made this backup, or it changed since. ` +
        `This manifest records only the file's bytes (captured before restore-drill compared the file as the application reads it), so a reformatted copy cannot be told from another install's file: if this is the right file, capture the manifest again (restore-drill manifest capture --profile ${manifest.app.name} --archive ${manifest.archive.file} --secrets FILE --force)`,
      expected: rec.fileSha256,
      observed: obs.secretsFileSha256,
    },
  ];
}

/** The archive's bytes as fetched (size and sha256) against the manifest: judged before anything is unpacked or started. */
export function compareIntegrity(manifest: Manifest, seen: { sizeBytes: number; sha256: string }): Finding[] {
  const exp = manifest.archive;
  const { sizeBytes: size, sha256 } = seen;
  return [
    size === exp.sizeBytes
      ? { id: 'integrity.size', status: 'pass', reason: `${size} bytes as recorded`, expected: exp.sizeBytes, observed: size }
      : { id: 'integrity.size', status: 'fail', reason: `archive size ${size} bytes, manifest records ${exp.sizeBytes}`, expected: exp.sizeBytes, observed: size },
    sha256 === exp.sha256
      ? { id: 'integrity.sha256', status: 'pass', reason: 'sha256 matches the manifest', expected: exp.sha256, observed: sha256 }
      : { id: 'integrity.sha256', status: 'fail', reason: `archive sha256 ${sha256.slice(0, 12)}… does not match the manifest's ${exp.sha256.slice(0, 12)}…: the file changed since the backup was taken`, expected: exp.sha256, observed: sha256 },
  ];
}

/** What the archive says about itself against what the manifest says about it. */
export function compareArchiveFacts(manifest: Manifest, archive: DataFacts | undefined, contract: Contract): Finding[] {
  if (!contract.archiveRecordsVersion) return [];
  const id = 'compare.app-version';
  const want = manifest.app.version;
  const seen = archive?.appVersion;
  if (!archive || seen === undefined) return [{ id, status: 'error', reason: `the version the archive records about itself was not read (the manifest says ${manifest.app.name} ${want})` }];
  const out: Finding[] = [
    seen === want
      ? { id, status: 'pass', reason: `the archive records ${manifest.app.name} ${seen}, as the manifest says`, expected: want, observed: seen }
      : { id, status: 'fail', reason: `the archive records ${manifest.app.name} ${seen} but the manifest says ${want}: the drill would run the wrong version; capture the manifest again from this archive`, expected: want, observed: seen },
  ];
  // The revision the archive itself is at, where it says (the restored one is compared after the restore).
  const rev = manifest.app.schemaRevision;
  if (rev !== undefined && archive.schemaRevision !== undefined && archive.schemaRevision !== rev) {
    out.push({ id: 'compare.archive-revision', status: 'fail', reason: `the archive is at schema revision ${archive.schemaRevision} but the manifest records ${rev}: the manifest does not describe this archive; capture it again from this archive`, expected: rev, observed: archive.schemaRevision });
  }
  return out;
}

/** Emptiness and sharp drops, judged by policy: the default fails them. */
function comparePolicy(input: CompareInput): Finding[] {
  const { manifest, policy } = input;
  const out: Finding[] = [];
  const empty = input.contract.emptiness(manifest);
  if (empty.length === 0) out.push({ id: 'compare.policy.empty', status: 'pass', reason: 'the backup is not empty' });
  else if (policy.acceptEmpty) out.push({ id: 'compare.policy.empty', status: 'pass', reason: `the backup is empty (${empty.join('; ')}), accepted by the accept-empty policy` });
  else {
    out.push({
      id: 'compare.policy.empty',
      status: 'fail',
      reason: `the backup is empty: ${empty.join('; ')} - a backup job pointed at the wrong or an empty data folder looks like this (policy: empty backups fail; set "policy": {"acceptEmpty": true} in the manifest or pass --accept-empty where an empty instance is expected)`,
    });
  }
  const prev = input.previous;
  if (!prev) return out;
  for (const [k, before] of Object.entries(prev.manifest.expectations.counts)) {
    const now = manifest.expectations.counts[k];
    if (typeof before !== 'number' || typeof now !== 'number' || before < SHARP_DROP_MIN_PREVIOUS || now >= before * SHARP_DROP_RATIO) continue;
    const id = `compare.policy.drop.${k}`;
    const what = `${k} dropped from ${before} in the previous backup (${prev.manifest.archive.file}) to ${now}`;
    out.push(
      policy.acceptDrop
        ? { id, status: 'pass', reason: `${what}, accepted by the accept-drop policy`, expected: before, observed: now }
        : { id, status: 'fail', reason: `${what} (policy: a drop below ${SHARP_DROP_RATIO * 100}% fails; set "policy": {"acceptDrop": true} in the manifest or pass --accept-drop for a planned clean-up)`, expected: before, observed: now },
    );
  }
  return out;
}

/** The restored data as the harness read it, against the recorded expectations. */
export function compareData(manifest: Manifest, seen: DataFacts, opts: { revision: boolean }): Finding[] {
  const out: Finding[] = [];
  const exp = manifest.expectations;
  const rev = manifest.app.schemaRevision;
  if (opts.revision && rev !== undefined) {
    out.push(
      seen.schemaRevision === undefined
        ? { id: 'compare.schema-revision', status: 'error', reason: 'the restored schema revision was not observed', expected: rev }
        : seen.schemaRevision === rev
          ? { id: 'compare.schema-revision', status: 'pass', reason: `schema revision ${rev} as recorded`, expected: rev, observed: seen.schemaRevision }
          : { id: 'compare.schema-revision', status: 'fail', reason: `schema revision: expected ${rev}, observed ${seen.schemaRevision}`, expected: rev, observed: seen.schemaRevision },
    );
  }
  for (const [table, expected] of Object.entries(exp.counts)) out.push(compareCount(table, expected, seen.counts[table]));
  for (const table of Object.keys(seen.counts)) {
    if (!(table in exp.counts)) out.push({ id: `compare.count.${table}`, status: 'fail', reason: `${table} holds ${seen.counts[table]} rows but the manifest records no count for it: the manifest does not cover this data`, observed: seen.counts[table] });
  }
  for (const [table, expected] of Object.entries(exp.fingerprints)) {
    const observed = seen.fingerprints[table];
    const id = `compare.fingerprint.${table}`;
    if (observed === undefined) out.push({ id, status: 'error', reason: `no content fingerprint was read for ${table}`, expected });
    else if (observed === expected) out.push({ id, status: 'pass', reason: `${table} content matches the backup`, expected, observed });
    else out.push({ id, status: 'fail', reason: `${table} content differs from what the backup recorded (fingerprint ${short(observed)}, expected ${short(expected)})`, expected, observed });
  }
  for (const table of Object.keys(seen.fingerprints)) {
    if (!(table in exp.fingerprints)) out.push({ id: `compare.fingerprint.${table}`, status: 'fail', reason: `the manifest records no content fingerprint for ${table}: the manifest does not cover this data` });
  }
  if (exp.chain) out.push(...compareChain(exp.chain, seen.chain));
  else if (seen.chain) out.push({ id: 'compare.chain', status: 'fail', reason: `the data holds a ${seen.chain.table} chain of ${seen.chain.length} rows but the manifest records none: the manifest does not cover it` });
  return out;
}

/** One meaning for a count: an exact number, or inclusive bounds min..max (both given). */
export function compareCount(table: string, expected: CountExpectation, observed: number | undefined): Finding {
  const id = `compare.count.${table}`;
  if (observed === undefined) return { id, status: 'error', reason: `the row count of ${table} was not observed`, expected };
  if (typeof expected === 'number') {
    return observed === expected
      ? { id, status: 'pass', reason: `${table}: ${observed} rows as expected`, expected, observed }
      : { id, status: 'fail', reason: `${table}: expected ${expected} rows, observed ${observed}`, expected, observed };
  }
  return observed >= expected.min && observed <= expected.max
    ? { id, status: 'pass', reason: `${table}: ${observed} rows, within ${expected.min}..${expected.max}`, expected, observed }
    : { id, status: 'fail', reason: `${table}: expected between ${expected.min} and ${expected.max} rows, observed ${observed}`, expected, observed };
}

/** Turns the harness's chain walk into findings that say what went wrong, not just that it did. */
export function compareChain(exp: ChainExpectation, chain: ChainObservation | undefined): Finding[] {
  const t = exp.table;
  if (!chain) return [{ id: 'compare.chain', status: 'error', reason: `the ${t} chain was not walked`, expected: exp }];
  const out: Finding[] = [];

  if (chain.length > 0 && chain.verifiedRows === 0) {
    out.push({
      id: 'compare.chain.secret',
      status: 'fail',
      reason: `the secret supplied is not the one that signed this chain: none of ${chain.length} ${t} rows verify with it (the data itself links correctly)`,
      observed: { verifiedRows: 0, length: chain.length },
    });
  } else {
    for (const p of chain.problems) {
      out.push(
        p.kind === 'hmac-mismatch'
          ? { id: `compare.chain.row`, status: 'fail', reason: `${t} row ${p.rowId} (position ${p.position + 1}): HMAC does not match the row's content - it was changed after it was signed` }
          : {
              id: `compare.chain.link`,
              status: 'fail',
              reason: `${t} chain break at row ${p.rowId} (position ${p.position + 1}): it links to ${short(p.actualPrev)} but the row before it is ${short(p.expectedPrev)} - a row is missing or out of place`,
              expected: p.expectedPrev,
              observed: p.actualPrev,
            },
      );
    }
    if (chain.problemCount > chain.problems.length) {
      out.push({ id: 'compare.chain.more', status: 'fail', reason: `${chain.problemCount - chain.problems.length} more chain problems not listed` });
    }
    if (chain.problemCount === 0 && chain.verifiedRows === chain.length) {
      out.push({ id: 'compare.chain.walk', status: 'pass', reason: `all ${chain.length} ${t} rows verify and link` });
    } else if (chain.problemCount === 0) {
      out.push({ id: 'compare.chain.walk', status: 'fail', reason: `${chain.length - chain.verifiedRows} of ${chain.length} ${t} rows do not verify with the secret supplied` });
    }
  }

  if (exp.startsAtGenesis && chain.firstPrevHmac !== null) {
    out.push({
      id: 'compare.chain.start',
      status: 'fail',
      reason: `${t} chain truncated: its first row links to ${short(chain.firstPrevHmac)} but the manifest expects a genesis row`,
      expected: null,
      observed: chain.firstPrevHmac,
    });
  } else if (!exp.startsAtGenesis && chain.firstPrevHmac !== (exp.firstPrevHmac ?? undefined)) {
    out.push({
      id: 'compare.chain.start',
      status: 'fail',
      reason: `${t} chain starts at a different row than recorded: first row links to ${short(chain.firstPrevHmac)}, expected ${short(exp.firstPrevHmac)}`,
      expected: exp.firstPrevHmac,
      observed: chain.firstPrevHmac,
    });
  } else {
    out.push({ id: 'compare.chain.start', status: 'pass', reason: exp.startsAtGenesis ? `${t} chain starts at its genesis row` : `${t} chain starts where the manifest recorded (older rows pruned)` });
  }

  out.push(
    chain.length === exp.length
      ? { id: 'compare.chain.length', status: 'pass', reason: `${t} chain has ${chain.length} rows as recorded`, expected: exp.length, observed: chain.length }
      : { id: 'compare.chain.length', status: 'fail', reason: `${t} chain length: expected ${exp.length}, observed ${chain.length}`, expected: exp.length, observed: chain.length },
  );
  out.push(
    chain.headHmac === exp.headHmac
      ? { id: 'compare.chain.head', status: 'pass', reason: `${t} chain head ${short(chain.headHmac)} as recorded`, expected: exp.headHmac, observed: chain.headHmac }
      : { id: 'compare.chain.head', status: 'fail', reason: `${t} chain head: expected ${short(exp.headHmac)}, observed ${short(chain.headHmac)}`, expected: exp.headHmac, observed: chain.headHmac },
  );
  return out;
}

function short(h: string | null | undefined): string {
  return h == null ? 'nothing (genesis)' : h.length > 16 ? `${h.slice(0, 12)}…` : h;
}
