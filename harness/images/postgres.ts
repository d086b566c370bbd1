import { readFileSync } from 'node:fs';
import type { ImageRecipe } from './recipe.ts';
import type { BaseSuite } from './base.ts';
import { EnvironmentError } from '../errors.ts';

const DOCKERFILE = new URL('../../docker/postgres/Dockerfile', import.meta.url);

/**
 * PostgreSQL majors this host can build a server (and client) image for, and
 * the Debian suite that ships each. Only Debian's packages are used: bookworm
 * has 15, trixie 17. Applications whose restore needs a newer client
 * (one that wants 16-18, say) pick from those that fit.
 */
export const POSTGRES_SUITES: Readonly<Record<number, BaseSuite>> = { 15: 'bookworm', 17: 'trixie' };

export function availablePostgresMajors(): number[] {
  return Object.keys(POSTGRES_SUITES)
    .map(Number)
    .sort((a, b) => a - b);
}

/**
 * The server major a dump made by `madeBy` should be restored into: the oldest
 * available one that is not older than the dump's server (pg_restore reads
 * archives of older majors, never newer) and that `accepted` allows. undefined
 * when none fits: then the drill cannot run, and says why.
 */
export function choosePostgresMajor(madeBy: number, accepted: (major: number) => boolean = () => true): number | undefined {
  return availablePostgresMajors().find((m) => m >= madeBy && accepted(m));
}

/** A disposable PostgreSQL server of one major, from Debian's packages. */
export function postgresImage(major: number): ImageRecipe {
  const suite = POSTGRES_SUITES[major];
  if (!suite) throw new EnvironmentError(`no Debian suite here ships PostgreSQL ${major} (available: ${availablePostgresMajors().join(', ')})`, 'RD_IMAGE_BUILD');
  return {
    name: 'postgres',
    version: String(major),
    dockerfile: readFileSync(DOCKERFILE, 'utf8'),
    baseSuite: suite,
    buildArgs: { PG_MAJOR: String(major) },
    labels: { 'io.restore-drill.postgres-major': String(major) },
  };
}
