export * from './contract.ts';
export { requiredCheckProblems } from './required.ts';
