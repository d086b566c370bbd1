import type Docker from 'dockerode';
import { managedLabels } from './labels.ts';

/**
 * A private, internal network (no route out) for drills that need two
 * containers to talk, e.g. an application and its database server.
 */
export async function createPrivateNetwork(docker: Docker, drillId: string, name = `restore-drill-${drillId}`): Promise<{ name: string; remove: () => Promise<void> }> {
  const net = await docker.createNetwork({ Name: name, Internal: true, CheckDuplicate: true, Labels: managedLabels(drillId) });
  return {
    name,
    remove: async () => {
      await net.remove().catch(() => undefined);
    },
  };
}
