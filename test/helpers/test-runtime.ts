import { randomBytes } from 'node:crypto';
import type { ContainerCreateOptions } from 'dockerode';
import { InternalError } from '../../harness/errors.ts';
import { ensureImage } from '../../harness/images/index.ts';
import { DrillContainer, removeContainer } from '../../harness/runtime/container.ts';
import { ensureEngine } from '../../harness/runtime/engine.ts';
import { managedLabels } from '../../harness/runtime/labels.ts';
import type { Runtime } from '../../harness/runtime/runtime.ts';

// testcontainers' reaper (Ryuk) is an image from a registry, and none is
// reachable: the suite turns it off itself (before testcontainers loads) and
// removes what each test made instead.
process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';

let made: Promise<Runtime> | undefined;
/** One label per start, so a container whose start failed half-way is found and removed (no reaper does it). */
const START_LABEL = 'io.restore-drill.test-server';

/**
 * The Runtime of the test suite's own live servers: the sample deployments
 * the tests and benches seed, their PostgreSQL servers, reference servers.
 * testcontainers creates, starts, waits for, stops and removes them, which
 * is what it is made for; the drills under test keep the CLI's runtime
 * (dockerRuntime: dockerode directly).
 *
 * - One engine: the one the drills use (ensureEngine names it in DOCKER_HOST,
 *   where testcontainers looks).
 * - Images are built here from their recipes, as for drills, and never
 *   pulled: a start whose image is not here is refused before testcontainers
 *   could ask a registry for it.
 * - Every container and network carries the harness's labels (owner pid,
 *   drill id, role), so leftovers() counts what a test left and `sweep`
 *   removes what a killed run left.
 * - Containers come back as DrillContainers (commands with a time limit,
 *   files in and out): the API the demo's deployment uses on the CLI's runtime.
 */
export function testRuntime(): Promise<Runtime> {
  return (made ??= makeTestRuntime());
}

async function makeTestRuntime(): Promise<Runtime> {
  const engine = await ensureEngine({ install: false });
  const { GenericContainer, getContainerRuntimeClient } = await import('testcontainers');
  const client = await getContainerRuntimeClient();
  const neverPull = { shouldPull: () => false };

  /**
   * testcontainers joins a container given network aliases to the default
   * bridge as well (a route out); the aliases are given at creation instead,
   * on the one network named, as the harness gives them.
   */
  class TestServer extends GenericContainer {
    readonly #endpoints: ContainerCreateOptions['NetworkingConfig'];
    constructor(image: string, endpoints: ContainerCreateOptions['NetworkingConfig']) {
      super(image);
      this.#endpoints = endpoints;
    }
    protected override async beforeContainerCreated(): Promise<void> {
      if (this.#endpoints) this.createOpts.NetworkingConfig = this.#endpoints;
    }
  }

  return {
    endpoint: `${engine.endpoint} (testcontainers)`,
    image: (recipe) => ensureImage(engine.docker, recipe),
    async start(opts) {
      if (!(await engine.docker.getImage(opts.image).inspect().then(() => true, () => false))) {
        throw new InternalError(`the image ${opts.image} is not built here; a test server never pulls one`);
      }
      const network = opts.network ?? 'none';
      const mark = randomBytes(6).toString('hex');
      const started = await new TestServer(opts.image, opts.aliases?.length ? { EndpointsConfig: { [network]: { Aliases: opts.aliases } } } : undefined)
        .withPullPolicy(neverPull)
        .withLabels({ ...managedLabels(opts.drillId), ...opts.labels, [START_LABEL]: mark })
        .withCommand(opts.command ?? ['sleep', 'infinity'])
        .withEnvironment(opts.env ?? {})
        .withNetworkMode(network)
        .withStartupTimeout(opts.startupTimeoutMs ?? 60_000)
        .start()
        .catch(async (e: unknown) => {
          const half = await engine.docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${START_LABEL}=${mark}`] }) });
          await Promise.allSettled(half.map((c) => removeContainer(engine.docker.getContainer(c.Id), c.Id.slice(0, 12))));
          throw e;
        });
      const container = engine.docker.getContainer(started.getId());
      const name = started.getName().replace(/^\//, '');
      // Stopped and removed by testcontainers; one it cannot stop (gone already, paused) is removed as the harness removes its own.
      const removal = async () => {
        await started.stop({ timeout: 0, remove: true, removeVolumes: true }).catch(() => removeContainer(container, name));
      };
      return new DrillContainer(engine.docker, container, await container.inspect(), removal);
    },
    async privateNetwork(drillId) {
      const name = `restore-drill-${drillId}`;
      const net = await client.network.create({ Name: name, Internal: true, CheckDuplicate: true, Labels: managedLabels(drillId) });
      return { name, remove: () => client.network.remove(net).catch(() => undefined) };
    },
  };
}
