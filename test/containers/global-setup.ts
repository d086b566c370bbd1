import { setupCommand } from '../../harness/commands/setup.ts';
import '../helpers/register-profiles.ts';
import { sweep } from '../../harness/runtime/index.ts';
import { ensureEngine } from '../../harness/runtime/engine.ts';
import { skipReason } from './engine.ts';
import { ensureImage } from '../../harness/images/index.ts';
import { postgresImage } from '../../harness/images/postgres.ts';
import { Z4J_PG_TEST_MAJOR, z4jPgImage } from '../../scenarios/z4j/pg/image.ts';
import { Z4J_BEFORE_SCHEMA_VERSION, Z4J_FIRST_CHAIN_VERSION, Z4J_OLDER_VERSION, Z4J_PINNED_VERSION, Z4J_SECOND_CHAIN_VERSION } from '../../scenarios/z4j/version.ts';

/** Prepares the host once for all container tests: engine, sweep, images. */
export default async function setup(): Promise<() => Promise<void>> {
  if (skipReason) {
    process.stderr.write(`\n*** container tests SKIPPED: RESTORE_DRILL_SKIP_CONTAINER_TESTS=${skipReason} ***\n\n`);
    return async () => {};
  }
  const say = (l: string) => process.stderr.write(`[setup] ${l}\n`);
  // Installs and starts an engine where it can; throws (failing the run) where it cannot.
  await setupCommand({ profile: 'z4j', version: [Z4J_PINNED_VERSION, Z4J_OLDER_VERSION, Z4J_BEFORE_SCHEMA_VERSION, Z4J_FIRST_CHAIN_VERSION, Z4J_SECOND_CHAIN_VERSION], say });
  // PostgreSQL drills: the server image and z4j with a client z4j's restore accepts.
  const { docker } = await ensureEngine();
  for (const recipe of [postgresImage(Z4J_PG_TEST_MAJOR), z4jPgImage(Z4J_PINNED_VERSION, Z4J_PG_TEST_MAJOR)]) {
    const img = await ensureImage(docker, recipe, { say });
    say(`image: ${img.tag} (${img.cacheHit ? 'cached' : 'built'}; base ${img.base.source})`);
  }
  return async () => {
    const engine = await ensureEngine();
    const left = await sweep(engine.docker);
    if (left.containers > 0) process.stderr.write(`[teardown] swept ${left.containers} containers left by tests\n`);
  };
}
