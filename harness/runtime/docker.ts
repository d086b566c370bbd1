import { ensureImage, imagePolicy, presentImage, type ImagePolicy } from '../images/index.ts';
import { startContainerOn } from './container.ts';
import type { Engine } from './engine.ts';
import { createPrivateNetwork } from './network.ts';
import type { Runtime } from './runtime.ts';

/**
 * The Runtime of one Docker engine that answered (ensureEngine), talked to
 * through dockerode directly. Its images are built here (cached by recipe), or,
 * on a fleet node (RESTORE_DRILL_IMAGES=present, or `images` given), only
 * found: present with the submitter's ids, never built.
 */
export function dockerRuntime(engine: Engine, opts: { images?: ImagePolicy } = {}): Runtime {
  const policy = opts.images ?? imagePolicy();
  return {
    endpoint: engine.endpoint,
    image: (recipe) => (policy.mode === 'present' ? presentImage(engine.docker, recipe, policy, engine.endpoint) : ensureImage(engine.docker, recipe)),
    start: (opts) => startContainerOn(engine.docker, opts),
    privateNetwork: (drillId) => createPrivateNetwork(engine.docker, drillId),
  };
}
