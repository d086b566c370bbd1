import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deferModules } from '../../harness/runtime/lazy-modules.ts';

// A package ("user") that requires a costly one ("heavy") at load time and
// takes a class from it there, as docker-modem does with ssh2.
const root = mkdtempSync(join(tmpdir(), 'rd-lazy-'));
const user = join(root, 'node_modules', 'user');
const heavy = join(root, 'node_modules', 'heavy');
mkdirSync(user, { recursive: true });
mkdirSync(heavy, { recursive: true });
writeFileSync(join(user, 'package.json'), '{"name":"user","main":"index.js"}');
writeFileSync(join(user, 'index.js'), "const Client = require('heavy').Client;\nconst h = require('heavy');\nmodule.exports = { make: (x) => new Client(x), add: (a) => h.add(a), nested: () => h.tools.two(), keys: () => Object.keys(h), isClient: (c) => c instanceof Client };\n");
writeFileSync(join(heavy, 'package.json'), '{"name":"heavy","main":"index.js"}');
writeFileSync(join(heavy, 'index.js'), "globalThis.heavyLoads = (globalThis.heavyLoads ?? 0) + 1;\nclass Client { constructor(x) { this.x = x; } }\nmodule.exports = { Client, add: (a) => a + 1, tools: { two: () => 2 } };\n");
const load = createRequire(join(root, 'index.js'));
const loads = () => (globalThis as { heavyLoads?: number }).heavyLoads ?? 0;

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('deferred modules', () => {
  it('are not run when the package requiring them loads, and are loaded once, by the first use, then act as themselves', () => {
    deferModules(join(user, 'package.json'), ['heavy', 'not-installed']);
    const u = load('user') as { make: (x: number) => { x: number }; add: (a: number) => number; nested: () => number; keys: () => string[]; isClient: (c: unknown) => boolean };
    expect(loads()).toBe(0);
    const c = u.make(7);
    expect(loads()).toBe(1);
    expect(c.x).toBe(7);
    expect(u.add(1)).toBe(2);
    expect(u.nested()).toBe(2);
    expect(u.keys()).toEqual(['Client', 'add', 'tools']);
    expect(loads()).toBe(1);
    // The module itself, required after its first use, is the real one.
    const real = createRequire(join(user, 'index.js'))('heavy') as { Client: new (x: number) => { x: number } };
    expect(new real.Client(3)).toBeInstanceOf(real.Client);
    expect(loads()).toBe(1);
  });

  it('leaves a module that is loaded already as it is', () => {
    const before = createRequire(join(user, 'index.js'))('heavy') as object;
    deferModules(join(user, 'package.json'), ['heavy']);
    expect(createRequire(join(user, 'index.js'))('heavy')).toBe(before);
    expect(loads()).toBe(1);
  });
});
