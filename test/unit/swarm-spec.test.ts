import { describe, expect, it } from 'vitest';
import { shardFromTaskSlot } from '../../harness/swarm/slot.ts';
import { WORKER_SOCKET, workerServiceSpec } from '../../harness/swarm/service-spec.ts';
import { serviceName } from '../../harness/swarm/submit.ts';
import { sourceAccess } from '../../harness/swarm/source-secrets.ts';

const input = {
  name: 'restore-drill-run1',
  image: `sha256:${'a'.repeat(64)}`,
  count: 6,
  maxConcurrent: 2,
  args: ['run', '--profile', 'z4j', '--shard', 'task-slot/6', '--', 's3://b/x.db'],
  env: { RESTORE_DRILL_IMAGE_IDS: '{"restore-drill/z4j:1.13.0-abc":"sha256:1"}', AWS_SHARED_CREDENTIALS_FILE: '/run/secrets/aws-credentials' },
  secrets: [{ id: 'sec1', name: 'restore-drill-run1-aws-credentials', file: 'aws-credentials' }],
  socketPath: '/tmp/fleet/sockets/{{.Node.ID}}.sock',
  reservations: { nanoCpus: 1e9, memoryBytes: 1 << 30 },
  labels: { 'io.restore-drill.managed': 'true', 'io.restore-drill.run-id': 'run1' },
};

describe('the fleet worker service', () => {
  const spec = workerServiceSpec(input);
  const container = (spec.TaskTemplate as { ContainerSpec: Record<string, unknown> }).ContainerSpec as {
    Image: string; Args: string[]; Env: string[]; Mounts: Array<{ Type: string; Source: string; Target: string }>; Secrets: Array<{ SecretID: string; File: { Name: string; Mode: number } }>;
  };

  it('is one replicated job: a task per shard, --jobs of them at once, never restarted', () => {
    expect(spec.Mode).toEqual({ ReplicatedJob: { TotalCompletions: 6, MaxConcurrent: 2 } });
    expect(spec.TaskTemplate).toMatchObject({ RestartPolicy: { Condition: 'none' } });
    // MaxConcurrent is never more than the shards there are.
    expect(workerServiceSpec({ ...input, maxConcurrent: 50 }).Mode).toEqual({ ReplicatedJob: { TotalCompletions: 6, MaxConcurrent: 6 } });
  });

  it('runs the worker image by id (no registry lookup) on the host network with the node engine socket mounted from the templated path', () => {
    expect(container.Image).toBe(input.image);
    expect(spec.TaskTemplate).toMatchObject({ Networks: [{ Target: 'host' }] });
    expect(container.Mounts).toEqual([{ Type: 'bind', Source: '/tmp/fleet/sockets/{{.Node.ID}}.sock', Target: WORKER_SOCKET }]);
  });

  it('gives each task its slot, its node and its own owner identity through templates, and the plain settings as env', () => {
    expect(container.Env).toEqual(expect.arrayContaining([
      'RESTORE_DRILL_TASK_SLOT={{.Task.Slot}}',
      'RESTORE_DRILL_NODE={{.Node.ID}}',
      'RESTORE_DRILL_OWNER_HOST=swarm-task-{{.Task.ID}}',
      `RESTORE_DRILL_IMAGE_IDS=${input.env.RESTORE_DRILL_IMAGE_IDS}`,
      'AWS_SHARED_CREDENTIALS_FILE=/run/secrets/aws-credentials',
    ]));
    expect(container.Args).toEqual(input.args);
  });

  it('mounts secrets as read-only files and reserves the drill CPU and memory', () => {
    expect(container.Secrets).toEqual([{ SecretID: 'sec1', SecretName: 'restore-drill-run1-aws-credentials', File: { Name: 'aws-credentials', UID: '0', GID: '0', Mode: 0o400 } }]);
    expect(spec.TaskTemplate).toMatchObject({ Resources: { Reservations: { NanoCPUs: 1e9, MemoryBytes: 1 << 30 } } });
  });

  it('carries the labels a sweep judges it by, on the service and on its containers', () => {
    expect(spec.Labels).toEqual(input.labels);
    expect((container as unknown as { Labels: unknown }).Labels).toEqual(input.labels);
  });

  it('names the service after the run, within what Swarm accepts', () => {
    expect(serviceName('run1')).toBe('restore-drill-run1');
    expect(serviceName('ci:pipeline.42')).toBe('restore-drill-ci-pipeline-42');
    expect(serviceName('x'.repeat(128)).length).toBeLessThanOrEqual(63);
  });
});

describe("a task's shard from swarmkit's slot", () => {
  it('reads a slot number as the shard (slots of a replicated job are 0..N-1)', () => {
    expect(shardFromTaskSlot('1', 'nodeabc', 3)).toBe(1);
    expect(shardFromTaskSlot('2', 'nodeabc', 3)).toBe(2);
  });

  it('reads slot 0, which {{.Task.Slot}} renders as the node id, as shard 0', () => {
    expect(shardFromTaskSlot('r3m70i4kom58rqavvt7cddbql', 'r3m70i4kom58rqavvt7cddbql', 3)).toBe(0);
  });

  it('refuses a slot that is neither a number nor the node id, or is out of range', () => {
    expect(() => shardFromTaskSlot('someothernode', 'r3m70i4kom58rqavvt7cddbql', 3)).toThrow(/neither a slot number nor this node's id/);
    expect(() => shardFromTaskSlot(undefined, 'n', 3)).toThrow(/neither/);
    expect(() => shardFromTaskSlot('3', 'n', 3)).toThrow(/outside 0\.\.2/);
  });
});

describe('source credentials for the workers', () => {
  it('resolves S3 credentials once into a shared credentials file (a secret), the env naming only its path and the plain settings', async () => {
    const access = await sourceAccess({
      locations: ['s3://drills/z4j/a.db'],
      env: { AWS_ENDPOINT_URL_S3: 'http://10.0.0.1:8333', AWS_SECRET_ACCESS_KEY: 'not-this-one', AWS_REGION: 'eu-west-1' },
      awsCredentials: async () => ({ accessKeyId: 'AKIDX', secretAccessKey: 's3cr3t', sessionToken: 'tok' }),
    });
    expect(access.files).toEqual([{ key: 'aws-credentials', data: Buffer.from('[default]\naws_access_key_id = AKIDX\naws_secret_access_key = s3cr3t\naws_session_token = tok\n') }]);
    expect(access.env).toEqual({ AWS_SHARED_CREDENTIALS_FILE: '/run/secrets/aws-credentials', AWS_PROFILE: 'default', AWS_CONFIG_FILE: '/dev/null', AWS_ENDPOINT_URL_S3: 'http://10.0.0.1:8333', AWS_REGION: 'eu-west-1' });
    expect(JSON.stringify(access.env)).not.toContain('s3cr3t');
  });

  it('asks for no credentials when no location needs them', async () => {
    const access = await sourceAccess({ locations: ['/mnt/shared/a.db'], env: {}, awsCredentials: async () => { throw new Error('must not be asked'); } });
    expect(access).toEqual({ files: [], env: {} });
  });
});

describe('--shard task-slot/N (the fleet worker)', () => {
  it('is the 1-based shard of this task: slot 0 (rendered as the node id) is shard 1, slot 2 shard 3', async () => {
    const { taskSlotShard } = await import('../../harness/swarm/slot.ts');
    expect(taskSlotShard('task-slot/3', { RESTORE_DRILL_TASK_SLOT: 'nodeid0', RESTORE_DRILL_NODE: 'nodeid0' })).toEqual({ index: 1, count: 3 });
    expect(taskSlotShard('task-slot/3', { RESTORE_DRILL_TASK_SLOT: '2', RESTORE_DRILL_NODE: 'nodeid0' })).toEqual({ index: 3, count: 3 });
    expect(taskSlotShard('2/3', {})).toBeUndefined();
    expect(() => taskSlotShard('task-slot/3', {})).toThrow(/RESTORE_DRILL_TASK_SLOT/);
  });
});

describe('run --on swarm refuses what the workers could not do, before anything starts', () => {
  const base = { profile: 'z4j', out: () => {}, say: () => {}, swarm: {} };
  it('needs --report-to, shared locations, and makes its own shards', async () => {
    const { runOnSwarmCommand } = await import('../../harness/commands/run-swarm.ts');
    await expect(runOnSwarmCommand({ ...base, archives: ['s3://b/a.db'] })).rejects.toThrow(/--on swarm needs --report-to/);
    await expect(runOnSwarmCommand({ ...base, archives: ['/var/backups/a.db'], reportTo: 's3://r/p/' })).rejects.toThrow(/a path on this machine; the workers read archives from the shared source/);
    await expect(runOnSwarmCommand({ ...base, archives: ['s3://b/a.db'], reportTo: 's3://r/p/', shard: { index: 1, count: 2 } })).rejects.toThrow(/makes its own shards/);
    await expect(runOnSwarmCommand({ ...base, archives: ['s3://b/a.db'], reportTo: 's3://r/p/', manifest: '/tmp/m.json' })).rejects.toThrow(/--manifest names a file on this machine/);
  });
});
