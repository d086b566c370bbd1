// A process that forms a one-node fleet and then waits to be stopped, for the
// fleet test: a SIGTERM must still remove everything it made (exit handlers),
// and after a SIGKILL the next startFleet must find and remove its leftovers.
import { startFleet } from './fleet-nodes.ts';

await startFleet({ nodes: 1 });
process.stdout.write('fleet-ready\n');
setInterval(() => {}, 60_000);
