import type Docker from 'dockerode';

/**
 * The few Swarm calls a fleet run makes, as one narrow interface: the
 * submitter and the sweep talk to a Swarm manager only through it, so their
 * logic is tested against a fake (test/unit/swarm-*.test.ts) and the engine's
 * API stays in this file.
 */
export interface SwarmTask {
  id: string;
  /** Swarmkit's slot: a replicated job's tasks get 0..TotalCompletions-1 (see harness/swarm/slot.ts). */
  slot: number;
  /** The node it was assigned to; none while pending. */
  nodeId?: string;
  /** The task's observed state: new, pending, assigned, ..., running, complete, failed, rejected, orphaned, shutdown, remove. */
  state: string;
  desiredState: string;
  /** The agent's last words on it ("started", "task: non-zero exit (1)", "no suitable node"). */
  message?: string;
  err?: string;
  exitCode?: number;
  /** When the manager made it (ISO): the first task of a slot is the one the run goes by. */
  createdAt?: string;
}

export interface SwarmNode {
  id: string;
  hostname: string;
  /** ready, down, unknown, disconnected. */
  state: string;
  availability: string;
}

export interface SwarmObject {
  id: string;
  name: string;
  labels: Record<string, string>;
}

export interface SwarmApi {
  /** Where the manager was reached, for messages. */
  readonly endpoint: string;
  createSecret(name: string, data: Buffer, labels: Record<string, string>): Promise<string>;
  removeSecret(id: string): Promise<void>;
  createService(spec: Docker.CreateServiceOptions): Promise<string>;
  removeService(id: string): Promise<void>;
  /**
   * Stops a replicated job's running tasks and starts no new ones: the spec
   * updated to MaxConcurrent 0 (a job's update is a new iteration, and the
   * reconciler marks the old iteration's unfinished tasks for removal).
   */
  stopJob(id: string): Promise<void>;
  tasks(serviceId: string): Promise<SwarmTask[]>;
  nodes(): Promise<SwarmNode[]>;
  /** Services and secrets carrying every one of these labels (KEY=VALUE or KEY). */
  services(labels: string[]): Promise<SwarmObject[]>;
  secrets(labels: string[]): Promise<SwarmObject[]>;
}

/** Whether an engine error means "this engine is not a Swarm manager" (503) rather than a failure. */
export function notAManager(e: unknown): boolean {
  const status = (e as { statusCode?: number }).statusCode;
  return status === 503 || /not a swarm manager|not part of a swarm/i.test(String((e as Error)?.message ?? e));
}

/** A 404: already gone, which is what a removal wanted. */
function gone(e: unknown): boolean {
  return (e as { statusCode?: number }).statusCode === 404;
}

/** The SwarmApi of one engine that is a Swarm manager, through dockerode. */
export function dockerSwarm(docker: Docker, endpoint: string): SwarmApi {
  return {
    endpoint,
    async createSecret(name, data, labels) {
      const s = (await docker.createSecret({ Name: name, Data: data.toString('base64'), Labels: labels })) as unknown as { id: string };
      return s.id;
    },
    async removeSecret(id) {
      await docker.getSecret(id).remove().catch((e: unknown) => {
        if (!gone(e)) throw e;
      });
    },
    async createService(spec) {
      const s = (await docker.createService(spec)) as unknown as { id: string };
      return s.id;
    },
    async removeService(id) {
      await docker.getService(id).remove().catch((e: unknown) => {
        if (!gone(e)) throw e;
      });
    },
    async stopJob(id) {
      const service = docker.getService(id);
      const info = (await service.inspect()) as { Version: { Index: number }; Spec: Docker.ServiceSpec & { Mode?: { ReplicatedJob?: { MaxConcurrent?: number; TotalCompletions?: number } } } };
      const spec = info.Spec;
      const job = spec.Mode?.ReplicatedJob;
      if (!job) return;
      const task = (spec.TaskTemplate ?? {}) as Docker.ContainerTaskSpec;
      await service.update({
        ...spec,
        version: info.Version.Index,
        Mode: { ReplicatedJob: { ...job, MaxConcurrent: 0 } },
        TaskTemplate: { ...task, ForceUpdate: (task.ForceUpdate ?? 0) + 1 },
      } as unknown as Docker.ServiceSpec & { version: number });
    },
    async tasks(serviceId) {
      const list = (await docker.listTasks({ filters: JSON.stringify({ service: [serviceId] }) })) as Array<{
        ID: string;
        CreatedAt?: string;
        Slot?: number;
        NodeID?: string;
        DesiredState?: string;
        Status?: { State?: string; Message?: string; Err?: string; ContainerStatus?: { ExitCode?: number } };
      }>;
      return list.map((t) => ({
        id: t.ID,
        slot: t.Slot ?? 0,
        ...(t.NodeID ? { nodeId: t.NodeID } : {}),
        state: t.Status?.State ?? 'unknown',
        desiredState: t.DesiredState ?? 'unknown',
        ...(t.Status?.Message ? { message: t.Status.Message } : {}),
        ...(t.Status?.Err ? { err: t.Status.Err } : {}),
        ...(typeof t.Status?.ContainerStatus?.ExitCode === 'number' ? { exitCode: t.Status.ContainerStatus.ExitCode } : {}),
        ...(t.CreatedAt ? { createdAt: t.CreatedAt } : {}),
      }));
    },
    async nodes() {
      const list = (await docker.listNodes()) as Array<{ ID: string; Description?: { Hostname?: string }; Status?: { State?: string }; Spec?: { Availability?: string } }>;
      return list.map((n) => ({ id: n.ID, hostname: n.Description?.Hostname ?? n.ID, state: n.Status?.State ?? 'unknown', availability: n.Spec?.Availability ?? 'unknown' }));
    },
    async services(labels) {
      const list = (await docker.listServices({ filters: JSON.stringify({ label: labels }) })) as Array<{ ID: string; Spec?: { Name?: string; Labels?: Record<string, string> } }>;
      return list.map((s) => ({ id: s.ID, name: s.Spec?.Name ?? s.ID, labels: s.Spec?.Labels ?? {} }));
    },
    async secrets(labels) {
      const list = (await docker.listSecrets({ filters: JSON.stringify({ label: labels }) })) as Array<{ ID: string; Spec?: { Name?: string; Labels?: Record<string, string> } }>;
      return list.map((s) => ({ id: s.ID, name: s.Spec?.Name ?? s.ID, labels: s.Spec?.Labels ?? {} }));
    },
  };
}
