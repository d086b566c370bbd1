import { describe, expect, it } from 'vitest';
import { removeContainer } from '../../harness/runtime/container.ts';
import { TimeoutError } from '../../harness/errors.ts';

// An engine stand-in recording the calls; each answer is a promise the test chooses.
function engine(answers: { unpause?: () => Promise<unknown>; remove?: () => Promise<unknown> }) {
  const calls: string[] = [];
  const c = {
    unpause: () => (calls.push('unpause'), answers.unpause?.() ?? Promise.reject(Object.assign(new Error('not paused'), { statusCode: 500 }))),
    remove: () => (calls.push('remove'), answers.remove?.() ?? Promise.resolve()),
  };
  return { c: c as unknown as Parameters<typeof removeContainer>[0], calls };
}

describe('removing a container', () => {
  it('resumes it first (a frozen one cannot be killed), then force-removes it', async () => {
    const e = engine({ unpause: () => Promise.resolve() });
    await removeContainer(e.c, 'paused_one', 1000);
    expect(e.calls).toEqual(['unpause', 'remove']);
    const f = engine({});
    await removeContainer(f.c, 'running_one', 1000);
    expect(f.calls).toEqual(['unpause', 'remove']);
  });

  it('counts a container that is gone already as removed, and any other refusal as an error', async () => {
    await removeContainer(engine({ remove: () => Promise.reject(Object.assign(new Error('no such container'), { statusCode: 404 })) }).c, 'gone', 1000);
    await expect(removeContainer(engine({ remove: () => Promise.reject(Object.assign(new Error('conflict'), { statusCode: 409 })) }).c, 'stuck', 1000)).rejects.toThrow(/conflict/);
  });

  it('gives up on an engine that does not answer, naming the container, instead of waiting without end', async () => {
    const never = () => new Promise<never>(() => {});
    for (const e of [engine({ unpause: never }), engine({ remove: never })]) {
      const t0 = performance.now();
      const err = await removeContainer(e.c, 'wedged_one', 300).catch((x: unknown) => x);
      expect(err).toBeInstanceOf(TimeoutError);
      expect(String((err as Error).message)).toMatch(/the container wedged_one was not removed within 0\.3 s/);
      expect(performance.now() - t0).toBeLessThan(5000);
    }
  });
});
