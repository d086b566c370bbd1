import { errorMessage } from '../errors.ts';
import { debug } from '../log.ts';
import type Docker from 'dockerode';
import { WORKER_SOCKET } from './service-spec.ts';

/**
 * How a fleet worker ends its Swarm task, for two things swarmkit does with
 * replicated jobs (moby/swarmkit, as in Docker 20.10.24):
 *
 * - The job reconciler (manager/orchestrator/jobs/replicated/reconciler.go)
 *   makes a new task for every slot that has not completed, whatever the
 *   restart policy: a worker exiting non-zero would be run again, and again.
 *   So a worker always exits 0; how its shard went is in its report (the run's
 *   exit code is printed to its log), and a shard that wrote none is lost for
 *   the submitter ("ended complete without writing its report").
 * - Removing a job service does not remove its tasks before swarmkit commit
 *   75e563b4 (2023-01, "Fix removing tasks when a jobs service is removed"):
 *   the finished task's container would stay on the node for good. So the
 *   worker has its own container removed once it has exited: a small container
 *   of the same image, on the same engine, auto-removed, waits for the
 *   worker's container to stop and removes it. The task stays `complete`.
 *   It is set up as the task starts (scheduleOwnRemoval), off the shard's time.
 *
 * Only for a process started as a fleet task (RESTORE_DRILL_TASK_ID, set by
 * the service's template).
 */
export function isSwarmTask(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^[a-z0-9]{10,40}$/.test(env.RESTORE_DRILL_TASK_ID ?? '');
}

const REAPER = `
const http = require('node:http');
const call = (method, path) => new Promise((ok, ko) => {
  const r = http.request({ socketPath: '/var/run/docker.sock', method, path }, (res) => { res.resume(); res.on('end', () => ok(res.statusCode)); });
  r.on('error', ko);
  r.end();
});
(async () => {
  const id = process.argv[1];
  await call('POST', '/containers/' + id + '/wait?condition=not-running');
  await call('DELETE', '/containers/' + id + '?v=1');
})().catch((e) => { process.stderr.write(String(e) + '\\n'); process.exit(1); });
`;

/**
 * Started as the task starts, so it costs the shard nothing at its end: the
 * reaper waits on the engine for this container to stop, whatever stops it
 * (the run's end, a crash, the submitter stopping the job). Resolves with a
 * warning when it could not be set up.
 */
export async function scheduleOwnRemoval(engine: () => Promise<Docker>, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  try {
    // The node's engine, found by the command (cli.ts) and handed down: no layer below the commands finds one.
    const docker = await engine();
    const [self] = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`com.docker.swarm.task.id=${env.RESTORE_DRILL_TASK_ID}`] }) });
    if (!self) return notSet(`no container of task ${env.RESTORE_DRILL_TASK_ID} on this engine`);
    const info = await docker.getContainer(self.Id).inspect();
    const socket = info.Mounts.find((m) => m.Destination === WORKER_SOCKET)?.Source;
    if (!socket) return notSet(`the task's container has no ${WORKER_SOCKET} mounted`);
    const reaper = await docker.createContainer({
      Image: info.Image,
      Entrypoint: ['/usr/local/bin/node', '-e', REAPER],
      Cmd: [self.Id],
      // Not the managed label: a sweep (another worker starting on this node) must not take it for a dead process's leftover.
      Labels: { 'io.restore-drill.role': 'task-reaper', ...(info.Config.Labels?.['io.restore-drill.run-id'] ? { 'io.restore-drill.run-id': info.Config.Labels['io.restore-drill.run-id'] } : {}) },
      HostConfig: { AutoRemove: true, NetworkMode: 'none', Binds: [`${socket}:/var/run/docker.sock`] },
    });
    await reaper.start();
    return undefined;
  } catch (e) {
    debug.runtime('task container removal not scheduled: %s', e);
    return notSet(errorMessage(e));
  }
}

function notSet(why: string): string {
  return `this task's container could not be set to be removed after it exits (${why}); "restore-drill sweep --all" on the node removes it`;
}

/** The task's end: the run's code said, the removal's problem if any, and 0 for Swarm. */
export async function endSwarmTask(code: number, removal: Promise<string | undefined>, say: (line: string) => void): Promise<number> {
  say(`this shard's run ended with exit code ${code}; the task exits 0 (the report at --report-to says how the shard went; a non-zero exit would make Swarm run the shard again)`);
  const problem = await removal;
  if (problem) say(`warning: ${problem}`);
  return 0;
}
