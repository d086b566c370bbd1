import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageRecipe } from '../../../harness/images/index.ts';
import { availablePostgresMajors, choosePostgresMajor, POSTGRES_SUITES } from '../../../harness/images/postgres.ts';
import type { Manifest } from '../../../harness/manifest/schema.ts';
import { MIGRATION_HEADS_SCRIPT, wheelhouse } from '../image.ts';
import { EnvironmentError } from '../../../harness/errors.ts';

const DOCKERFILE = new URL('../../../docker/z4j-pg/Dockerfile', import.meta.url);
/** Each Debian suite's python3, which the wheels must fit. */
const SUITE_PYTHON = { bookworm: '3.11', trixie: '3.13' } as const;

/**
 * z4j's restore refuses a pg_restore outside its reviewed archive contract
 * (majors 16, 17, 18) and one whose major differs from the server's.
 */
export const Z4J_PG_CLIENT_MAJORS = [16, 17, 18];
/** The PostgreSQL major the fixtures, tests and benchmark run (Debian's newest that z4j's restore accepts). */
export const Z4J_PG_TEST_MAJOR = 17;

/**
 * z4j of one version with PostgreSQL client tools of one major, on the Debian
 * suite that ships that major.
 */
export function z4jPgImage(version: string, pgMajor: number): ImageRecipe {
  const suite = POSTGRES_SUITES[pgMajor];
  if (!suite) throw new EnvironmentError(`no Debian suite here ships PostgreSQL ${pgMajor}`, 'RD_IMAGE_BUILD');
  const python = SUITE_PYTHON[suite];
  const spec = `z4j[postgres]==${version}`;
  return {
    name: 'z4j-pg',
    version: `${version}-pg${pgMajor}`,
    dockerfile: readFileSync(DOCKERFILE, 'utf8'),
    baseSuite: suite,
    buildArgs: { Z4J_VERSION: version, PG_MAJOR: String(pgMajor) },
    inputs: { spec, python, migrationHeads: readFileSync(MIGRATION_HEADS_SCRIPT, 'utf8') },
    labels: { 'io.restore-drill.app': 'z4j', 'io.restore-drill.app-version': version, 'io.restore-drill.postgres-major': String(pgMajor) },
    async prepareContext(contextDir, say) {
      cpSync(await wheelhouse(version, spec, say, python), join(contextDir, 'wheels'), { recursive: true });
      cpSync(MIGRATION_HEADS_SCRIPT, join(contextDir, 'migration-heads.py'));
    },
  };
}

/**
 * The image for a manifest's dump: z4j's client of the server major the drill
 * restores into (the dump's own, or the nearest newer one z4j accepts). A dump
 * no server here can take still gets the newest image; inspection then says why
 * nothing starts.
 */
export function z4jPgImageFor(version: string, manifest: Manifest): ImageRecipe {
  const major = drillServerMajor(manifest.archive.database?.major ?? 0) ?? availablePostgresMajors().filter(accepted).at(-1) ?? 17;
  return z4jPgImage(version, major);
}

const accepted = (m: number) => Z4J_PG_CLIENT_MAJORS.includes(m);

/** The server major a drill restores a dump made by PostgreSQL `madeBy` into, within what z4j's restore accepts. */
export function drillServerMajor(madeBy: number): number | undefined {
  return choosePostgresMajor(madeBy, accepted);
}
