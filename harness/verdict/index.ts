// The verdict layer: the one comparison with the manifest, the contracts' mechanics, and decide/conclude.
export * from './contract.ts';
export { requiredCheckProblems } from './required.ts';
export { compareAll, compareArchiveFacts, compareIntegrity, compareSecrets, type CompareInput } from './compare.ts';
export { conclude, decide, requiredChecks, type Judged } from './decide.ts';
