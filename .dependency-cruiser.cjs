/**
 * The layers of restore-drill, lowest first. A module may import its own layer
 * and any layer below it, never one above: the vocabulary (model) knows
 * nothing, the verdict knows no container, the pipeline knows no command, and
 * the harness never knows an application (scenarios/). `npm test` runs these
 * rules (test/unit/dependency-rules.test.ts), which also shows each one
 * catching a deliberate break (test/fixtures/dependency-rules/).
 */
const LAYERS = [
  // The shared vocabulary: plan, observations, findings, report types, secrets in memory.
  { name: 'model', path: '^harness/model/' },
  // Building blocks that judge nothing: errors, logging, paths, files a user names, archives, checks, manifests, keys, sources.
  { name: 'base', path: '^harness/((errors|log|paths|version|interrupt)[.]ts$|(files|archive|checks|evidence|manifest|select|sources)/)' },
  // Where containers run and the images they run.
  { name: 'runtime', path: '^harness/(runtime|images)/' },
  // The one comparison, the contracts' mechanics, decide: the only place a verdict is made.
  { name: 'verdict', path: '^harness/verdict/' },
  // What a profile provides, and the registry of profiles.
  { name: 'profile', path: '^harness/profiles?[.]ts$' },
  // Planning and the pipeline's stages.
  { name: 'drill', path: '^harness/drill/' },
  // What is made of finished drills: reports, history, notifications.
  { name: 'output', path: '^harness/(report|history|notify)/' },
  // Runs spread over many workers: shards of a selection, where their reports go, merging them.
  { name: 'fleet', path: '^harness/fleet/' },
  // Fleet runs on a Docker Swarm: the worker service, its tasks followed, the shards merged (above the fleet it submits to).
  { name: 'swarm', path: '^harness/swarm/' },
  // The commands and the CLI wiring.
  { name: 'commands', path: '^harness/(commands/|cli[.]ts$)' },
];

const upward = LAYERS.map((layer, i) => ({
  name: `layer-${layer.name}-imports-above`,
  comment: `${layer.name} may import only itself and the layers below it (${LAYERS.slice(0, i).map((l) => l.name).join(', ') || 'none'})`,
  severity: 'error',
  from: { path: layer.path },
  to: { path: LAYERS.slice(i + 1).map((l) => `(${l.path})`).join('|') || '^$' },
})).filter((r) => r.to.path !== '^$');

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'modules that import each other, however indirectly, cannot be understood or tested one at a time',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'harness-imports-scenarios',
      comment: 'harness/ knows no application; a profile registers itself (bin/main.ts) instead',
      severity: 'error',
      from: { path: '^harness/' },
      to: { path: '^scenarios/' },
    },
    {
      name: 'scenario-imports-commands',
      comment: 'a profile plugs in below the pipeline: it never reaches the commands, the CLI or what is made of finished drills',
      severity: 'error',
      from: { path: '^scenarios/' },
      to: { path: '^harness/(commands/|cli[.]ts$|report/|history/|notify/|fleet/|swarm/)' },
    },
    {
      name: 'engine-found-below-commands',
      comment: 'the engine is found once, by a command, and handed down as a Runtime (harness/runtime/runtime.ts): nothing below the commands finds it again (ensureEngine)',
      severity: 'error',
      from: { path: '^(harness|scenarios|bin)/', pathNot: '^harness/(commands/|cli[.]ts$)' },
      to: { path: '^harness/runtime/engine[.]ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'dockerode-outside-engine',
      comment: 'only harness/runtime/engine.ts makes a dockerode client; the rest use the one they are given (type imports only)',
      severity: 'error',
      from: { pathNot: '^harness/runtime/engine[.]ts$' },
      to: { path: '(^|/)node_modules/dockerode/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'testcontainers-outside-tests',
      comment: "testcontainers runs the test suite's own servers (test/helpers/test-runtime.ts); the CLI's drills stay on dockerode directly",
      severity: 'error',
      from: { path: '^(harness|scenarios|bin)/' },
      to: { path: '(^|/)node_modules/testcontainers/' },
    },
    ...upward,
  ],
  options: {
    // Packages are seen (which module imports dockerode or testcontainers) but not cruised.
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '/native/target/' },
    tsPreCompilationDeps: true,
    // Absolute, so the rules' own test can cruise its fixture trees from their folders.
    tsConfig: { fileName: require('node:path').join(__dirname, 'tsconfig.json') },
  },
};
