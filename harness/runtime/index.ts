export { ensureEngine, engineAt, findEngine, type Engine } from './engine.ts';
export { startContainer, stopAllContainers, DrillContainer, type ExecOutcome, type ExecOptions, type StartOptions, type TreeEntry } from './container.ts';
export { sweep, type SweepResult } from './sweep.ts';
export { createPrivateNetwork } from './network.ts';
export * from './labels.ts';
