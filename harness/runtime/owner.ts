import { OWNER_HOST_LABEL, OWNER_PID_LABEL, ownerHost } from './labels.ts';

/** Whether the harness process named by these owner labels still runs (objects of another host count as alive). */
export function ownerAlive(labels: Record<string, string>): boolean {
  // Another host's objects (a shared remote engine) cannot be judged from here: keep them.
  if (labels[OWNER_HOST_LABEL] !== undefined && labels[OWNER_HOST_LABEL] !== ownerHost()) return true;
  const pid = Number(labels[OWNER_PID_LABEL]);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
