import { describe, expect, it } from 'vitest';
import { decide } from '../../harness/verdict/index.ts';
import type { CheckResult, StageTiming } from '../../harness/model/types.ts';

const all: StageTiming[] = (['fetch', 'integrity', 'inspect', 'provision', 'restore', 'probe', 'compare'] as const).map((name) => ({ name, status: 'passed', durationMs: 1 }));
const pass: CheckResult = { id: 'x', stage: 'probe', status: 'pass', reason: 'ok' };

describe('verdict (fail-closed)', () => {
  it('passes only when every stage ran and every check passed', () => {
    expect(decide([pass], all, ['x'])[0]).toBe('passed');
  });
  it('is an error when a stage did not run', () => {
    expect(decide([pass], all.slice(0, 5), [])).toEqual(['error', 'stages not run: probe, compare']);
  });
  it('is an error when no check ran', () => {
    expect(decide([], all, [])[0]).toBe('error');
  });
  it('is an error when a check could not conclude', () => {
    expect(decide([pass, { ...pass, status: 'error', reason: 'timed out' }], all, [])).toEqual(['error', 'probe: timed out']);
  });
  it('is an error when a required check did not run, however many others passed', () => {
    expect(decide([pass, pass], all, ['x', 'compare.chain.walk'])).toEqual(['error', 'required check did not run: compare.chain.walk']);
  });
  it('is an error when a required check ran without a conclusion only', () => {
    expect(decide([pass], all, ['x', 'app.*'])).toEqual(['error', 'required check did not run: app.*']);
    expect(decide([pass, { ...pass, id: 'app.status.users' }], all, ['x', 'app.*'])[0]).toBe('passed');
  });
  it('fails when any check fails, naming the first and counting the rest', () => {
    const f = { ...pass, status: 'fail' as const, reason: 'bad' };
    expect(decide([f, f, { ...pass, status: 'error' }], all, [])).toEqual(['failed', 'probe: bad (+1 more)']);
  });
});
