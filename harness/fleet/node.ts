import { hostname } from 'node:os';

/**
 * Where a drill ran, as reports name it: $RESTORE_DRILL_NODE when set (a
 * scheduler's node id: Swarm's {{.Node.ID}}, Kubernetes' spec.nodeName), else
 * the host name. A name only, for the reader of a merged report: it never
 * bears on a verdict.
 */
export function nodeName(env: NodeJS.ProcessEnv = process.env): string {
  const given = env.RESTORE_DRILL_NODE?.trim();
  return given ? given.slice(0, 200) : hostname();
}
