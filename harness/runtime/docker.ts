import { ensureImage } from '../images/index.ts';
import { startContainerOn } from './container.ts';
import type { Engine } from './engine.ts';
import { createPrivateNetwork } from './network.ts';
import type { Runtime } from './runtime.ts';

/** The Runtime of one Docker engine that answered (ensureEngine), talked to through dockerode directly. */
export function dockerRuntime(engine: Engine): Runtime {
  return {
    endpoint: engine.endpoint,
    image: (recipe) => ensureImage(engine.docker, recipe),
    start: (opts) => startContainerOn(engine.docker, opts),
    privateNetwork: (drillId) => createPrivateNetwork(engine.docker, drillId),
  };
}
