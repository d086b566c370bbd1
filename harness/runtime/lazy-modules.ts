import { createRequire, Module } from 'node:module';
import { dirname, isAbsolute } from 'node:path';

/**
 * dockerode requires ssh2 (for ssh:// engines) and gRPC with its proto loader
 * (for BuildKit sessions) when it loads, though a drill talks to a local socket
 * and uses neither: about 0.14 CPU-s of every start. Before dockerode loads,
 * each of those modules is entered in require's cache (a documented way to
 * supply a module) as a stand-in that loads the real module the first time
 * anything taken from it is called, constructed or looked into; until then
 * nothing of it runs. Used as a library normally, the stand-in behaves as the
 * module: only when the work happens changes.
 *
 * `from` is the package whose requires are served, by name or as the absolute
 * path of its package.json (their paths are resolved from there, so the
 * stand-in sits where that package's require looks).
 */
export function deferModules(from: string, names: readonly string[]): void {
  const require = createRequire(import.meta.url);
  let fromRequire: NodeJS.Require;
  try {
    fromRequire = createRequire(isAbsolute(from) ? from : require.resolve(`${from}/package.json`));
  } catch {
    return; // not installed: nothing to defer, its import reports that itself
  }
  for (const name of names) {
    let path: string;
    try {
      path = fromRequire.resolve(name);
    } catch {
      continue;
    }
    if (require.cache[path]) continue;
    let real: Record<string | symbol, unknown> | undefined;
    const load = (): Record<string | symbol, unknown> => {
      if (!real) {
        delete require.cache[path];
        real = fromRequire(name) as Record<string | symbol, unknown>;
      }
      return real;
    };
    const standIn = new Module(path);
    standIn.filename = path;
    standIn.paths = [dirname(path)];
    standIn.loaded = true;
    standIn.exports = new Proxy({}, {
      // A property taken at load time (`require('ssh2').Client`) is itself a stand-in until used.
      get: (_, key) => (real ? real[key] : forward(load, key)),
      has: (_, key) => key in load(),
      ownKeys: () => Reflect.ownKeys(load()),
      getOwnPropertyDescriptor: (_, key) => {
        const d = Reflect.getOwnPropertyDescriptor(load(), key);
        return d ? { ...d, configurable: true } : undefined;
      },
    });
    require.cache[path] = standIn;
  }
}

/** A stand-in for `module[key]`: calling, constructing or reading it loads the module and acts on the real value. */
function forward(load: () => Record<string | symbol, unknown>, key: string | symbol): unknown {
  const target = () => load()[key] as (...args: unknown[]) => unknown;
  return new Proxy(function standIn() {}, {
    apply: (_, self, args) => Reflect.apply(target(), self, args),
    construct: (_, args) => Reflect.construct(target(), args),
    get: (_, prop) => Reflect.get(target() as object, prop),
    has: (_, prop) => prop in (target() as object),
  });
}
