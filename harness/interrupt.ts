/**
 * What SIGINT/SIGTERM should do while a command runs. A command that can stop
 * gracefully registers a handler (abort its drills, write a partial report);
 * without one, the CLI removes this process's containers and exits.
 */
type Handler = (signal: NodeJS.Signals) => void;
let handler: Handler | undefined;

export function onInterrupt(h: Handler): () => void {
  handler = h;
  return () => {
    if (handler === h) handler = undefined;
  };
}

export function currentInterruptHandler(): Handler | undefined {
  return handler;
}
