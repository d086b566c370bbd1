import type Docker from 'dockerode';
import { TASK_SLOT_ENV } from './slot.ts';

/** A file the workers need (the secrets file, a source's credentials) made a Swarm secret, mounted under /run/secrets. */
export interface MountedSecret {
  id: string;
  name: string;
  /** The file's name under /run/secrets in the task's container. */
  file: string;
}

export interface WorkerServiceInput {
  /** The service's name (restore-drill-<run id>). */
  name: string;
  /** The worker image by id (sha256:...): a node never tries a registry for an image named by id, and the id is its content. */
  image: string;
  /** Shards: one task each (TotalCompletions). */
  count: number;
  /** Tasks at once (--jobs). */
  maxConcurrent: number;
  /** The worker's command line after the image's entrypoint (the CLI): never a secret in it. */
  args: string[];
  /** Plain settings (no secret values): the source's endpoint, the expected image ids, file paths of mounted secrets. */
  env: Record<string, string>;
  secrets: MountedSecret[];
  /** A folder every node mounts at this path (a --report-to folder): mounted at the same path in the worker. */
  sharedFolder?: string;
  /** Where each node's engine socket is, as a path on the node; may hold swarm templates ({{.Node.ID}}). */
  socketPath: string;
  /** Reserved for each task so the scheduler places it where a drill fits. */
  reservations: { nanoCpus: number; memoryBytes: number };
  labels: Record<string, string>;
}

/** Where the node's engine socket appears in the worker (the CLI finds it as the default engine). */
export const WORKER_SOCKET = '/var/run/docker.sock';

/**
 * The one replicated-job service of a fleet run. Restart condition none: a
 * task that fails or whose node dies is reported as such (an `error` for its
 * archives), never re-run behind the submitter's back. Host network: the
 * worker reaches the sources (and the report location) as the node does; its
 * drill containers get their own networks from the node's engine as in a
 * local run.
 */
export function workerServiceSpec(input: WorkerServiceInput): Docker.CreateServiceOptions {
  const env = { ...input.env, ...TASK_SLOT_ENV };
  return {
    Name: input.name,
    Labels: input.labels,
    Mode: { ReplicatedJob: { TotalCompletions: input.count, MaxConcurrent: Math.max(1, Math.min(input.maxConcurrent, input.count)) } },
    TaskTemplate: {
      ContainerSpec: {
        Image: input.image,
        Args: input.args,
        Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
        Labels: input.labels,
        Mounts: [
          { Type: 'bind' as const, Source: input.socketPath, Target: WORKER_SOCKET },
          ...(input.sharedFolder ? [{ Type: 'bind' as const, Source: input.sharedFolder, Target: input.sharedFolder }] : []),
        ],
        Secrets: input.secrets.map((s) => ({ SecretID: s.id, SecretName: s.name, File: { Name: s.file, UID: '0', GID: '0', Mode: 0o400 } })),
        // A stopped worker removes its drills' containers first (its SIGTERM handler); give it the time a local run gets.
        StopGracePeriod: 30_000_000_000,
        Init: true,
      },
      Resources: { Reservations: { NanoCPUs: input.reservations.nanoCpus, MemoryBytes: input.reservations.memoryBytes } },
      RestartPolicy: { Condition: 'none', MaxAttempts: 0 },
      // Where the agent keeps its tasks' output: read by "docker service logs" when a worker dies before reporting.
      LogDriver: { Name: 'json-file', Options: { 'max-size': '10m' } },
      // The node's own network namespace (the predefined "host" network, as "docker service create --network host").
      Networks: [{ Target: 'host' }],
    },
  };
}
