import createDebug from 'debug';

/**
 * Debug output, off unless DEBUG names a namespace (e.g. DEBUG=restore-drill:*).
 * User-facing output never goes through here.
 */
export const debug = {
  runtime: createDebug('restore-drill:runtime'),
  exec: createDebug('restore-drill:exec'),
  image: createDebug('restore-drill:image'),
  engine: createDebug('restore-drill:engine'),
  drill: createDebug('restore-drill:drill'),
  walk: createDebug('restore-drill:walk'),
};
