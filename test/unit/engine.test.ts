import { describe, expect, it } from 'vitest';
import { ensureEngine, findEngine } from '../../harness/runtime/engine.ts';

describe('finding a container engine', () => {
  it('says exactly what it tried when DOCKER_HOST points nowhere, and changes nothing', async () => {
    const env = { DOCKER_HOST: 'tcp://127.0.0.1:1' };
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = env.DOCKER_HOST; // dockerode reads it from the process
    try {
      const found = await findEngine(env);
      expect(found.engine).toBeUndefined();
      expect(found.notes[0]).toBe('DOCKER_HOST=tcp://127.0.0.1:1 does not answer');
      await expect(ensureEngine({ env, install: true })).rejects.toThrow(/no container engine answers: DOCKER_HOST=tcp:\/\/127\.0\.0\.1:1 does not answer.*Start the engine DOCKER_HOST points at, or unset DOCKER_HOST/);
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  });
});
