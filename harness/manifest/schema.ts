import { z } from 'zod';

/**
 * The expectations file written at backup time and read at drill time
 * (<archive>.manifest.json). Versioned: readers refuse a schemaVersion they do
 * not know instead of guessing.
 */

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 as 64 lower-case hex digits');

/**
 * An application version: digits and dots, then letters, digits and . + -
 * ("1.13.0", "1.13.0rc1", "0.2.0+build.5"). A version names image tags, cache
 * folders and package specs: a "/", "..", a space or a shell character must
 * never get that far.
 */
export const VERSION_PATTERN = /^\d+(?:\.\d+){0,3}(?:[.+-]?[A-Za-z0-9]+)*$/;
export const AppVersion = z.string().max(64).regex(VERSION_PATTERN, 'a version like 1.13.0 (digits and dots, then letters, digits, ".", "+" or "-")');

/**
 * An exact count, or inclusive bounds when the data is expected to move. Both
 * ends are required: a bound with one end (`{min: 0}`) would pass anything.
 * A profile's contract may require exact counts for the tables it depends on.
 */
export const CountExpectation = z.union([
  z.number().int().nonnegative(),
  z
    .object({ min: z.number().int().nonnegative(), max: z.number().int().nonnegative() })
    .strict()
    .refine((b) => b.min <= b.max, 'bounds need min <= max'),
]);

export const ChainExpectation = z
  .object({
    /** Table holding the chain (for messages). */
    table: z.string().min(1),
    length: z.number().int().nonnegative(),
    /** row HMAC of the newest row; null for an empty chain. */
    headHmac: z.string().nullable(),
    /**
     * True when the first row must be a genesis row (no previous HMAC). False when
     * older rows were pruned on purpose; then firstPrevHmac says what the first
     * remaining row links to.
     */
    startsAtGenesis: z.boolean(),
    firstPrevHmac: z.string().nullable().optional(),
  })
  .strict();

export const Manifest = z
  .object({
    $schema: z.string().optional(),
    schemaVersion: z.literal(1),
    app: z
      .object({
        name: z.string().min(1),
        version: AppVersion,
        /** The schema/migration revision of the data (e.g. an alembic revision). */
        schemaRevision: z.string().min(1).optional(),
      })
      .strict(),
    archive: z
      .object({
        /** File name only: the manifest travels with the archive. */
        file: z.string().min(1),
        format: z.string().min(1),
        sha256: sha256Hex,
        sizeBytes: z.number().int().nonnegative(),
        createdAt: z.iso.datetime({ offset: true }),
        /**
         * For database dumps: the server that was dumped. A drill restores into
         * a server of the same major, or the nearest newer one it can run.
         */
        database: z
          .object({
            engine: z.string().min(1),
            /** As the server reports it, e.g. "17.11 (Debian 17.11-0+deb13u1)". */
            serverVersion: z.string().min(1),
            major: z.number().int().positive(),
            /** The dump tool's own version, e.g. pg_dump's. */
            dumpToolVersion: z.string().min(1).optional(),
          })
          .strict()
          .optional(),
      })
      .strict(),
    /** Where the secrets a drill needs live. Never the secrets themselves. */
    secrets: z
      .object({
        reference: z.string().min(1),
        /** Names of the secret values a drill needs (not their values). */
        names: z.array(z.string().min(1)),
        /** sha256 of the secret file at capture time, to tell "wrong file" from "tampered data". */
        fileSha256: sha256Hex.optional(),
        /**
         * sha256 over the names and values as the application reads the file
         * (its profile's canonical form), where the profile knows its reader:
         * a reformatted or reordered file with the same names and values
         * matches. Then fileSha256 is information only.
         */
        readSha256: sha256Hex.optional(),
      })
      .strict()
      .optional(),
    expectations: z
      .object({
        /**
         * Read by nothing: which application checks must run and pass is the
         * profile's contract, not something a manifest can leave out. Accepted
         * so that manifests written before the contract still load.
         */
        appChecks: z.array(z.string().min(1)).optional(),
        counts: z.record(z.string(), CountExpectation),
        chain: ChainExpectation.optional(),
        /** sha256 over each table's rows in key order. */
        fingerprints: z.record(z.string(), sha256Hex).default({}),
      })
      .strict(),
    /**
     * What this backup is allowed to be. By default an empty backup (no audit
     * rows, no tenants, no credentials) and a sharp drop against the previous
     * backup of the same folder fail the drill; set these where that is expected.
     */
    policy: z
      .object({
        acceptEmpty: z.boolean().optional(),
        acceptDrop: z.boolean().optional(),
        /**
         * Recovery-time budget in seconds, recorded at capture (--rto): a drill
         * whose measured recovery time is over it fails. It binds every drill of
         * this archive; a command line can tighten it, never loosen it.
         */
        rtoSeconds: z.number().positive().optional(),
      })
      .strict()
      .optional(),
    capture: z
      .object({
        tool: z.string(),
        toolVersion: z.string(),
        capturedAt: z.iso.datetime({ offset: true }),
      })
      .strict(),
  })
  .strict();

export type Manifest = z.infer<typeof Manifest>;
export type ManifestInput = z.input<typeof Manifest>;
export type CountExpectation = z.infer<typeof CountExpectation>;
export type ChainExpectation = z.infer<typeof ChainExpectation>;

export const MANIFEST_SCHEMA_ID = 'https://restore-drill.invalid/schema/manifest-v1.json';

/** The published JSON Schema (schema/manifest.schema.json is generated from this). */
export function manifestJsonSchema(): Record<string, unknown> {
  return {
    $id: MANIFEST_SCHEMA_ID,
    title: 'restore-drill manifest (expectations recorded at backup time)',
    ...z.toJSONSchema(Manifest, { io: 'input' }),
  };
}
