// The engine is found by a command (ensureEngine in ./engine.ts) and handed down as a Runtime, never found again below.
export type { Engine } from './engine.ts';
export type { Runtime, PrivateNetwork } from './runtime.ts';
export { stopAllContainers, DrillContainer, type ExecOutcome, type ExecOptions, type StartOptions, type TreeEntry } from './container.ts';
export { sweep, type SweepResult } from './sweep.ts';
export * from './labels.ts';
