/**
 * Import rules (docs/architecture.md explains them). `npm run deps` checks them, and `npm test`
 * runs that; tests/deploy/dependency-rules.test.ts shows a planted violation fails.
 *
 *   http (server/http/)  →  domain (models, inference, imaging, generation, pipeline, observability)
 *   domain               →  nothing of http, nor the composition root (app, server, main, config)
 *   training/            →  server/ only through server/shared.ts
 *   scripts/             →  server/ only through server/shared.ts and server/embedding.ts
 */
const DOMAIN = '^server/(models|inference|imaging|generation|pipeline|observability)/|^server/(errors|cores|log)[.]ts$';
const COMPOSITION_ROOT = '^server/(app|server|main|config)[.]ts$';
const PUBLIC_SURFACES = '^server/(shared|embedding)[.]ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules depend on each other one way: a cycle makes load order and refactoring fragile.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'domain-not-to-http',
      severity: 'error',
      comment: 'The domain knows nothing of HTTP: it throws the errors of server/errors.ts, which server/http/problem.ts maps.',
      from: { path: DOMAIN },
      to: { path: '^server/http/' },
    },
    {
      name: 'domain-not-to-composition-root',
      severity: 'error',
      comment: 'The domain gets its settings as arguments; only the composition root reads the environment and wires the parts.',
      from: { path: DOMAIN },
      to: { path: [COMPOSITION_ROOT, PUBLIC_SURFACES] },
    },
    {
      name: 'http-not-to-composition-root',
      severity: 'error',
      comment: 'Routers get their dependencies as AppDeps (server/http/deps.ts), not from the modules that build them.',
      from: { path: '^server/http/' },
      to: { path: ['^server/(app|server|main)[.]ts$', PUBLIC_SURFACES] },
    },
    {
      name: 'server-not-to-outside',
      severity: 'error',
      comment: 'The server is self-contained: it never imports the training module, the scripts or the tests.',
      from: { path: '^server/' },
      to: { path: '^(training|scripts|tests)/' },
    },
    {
      name: 'training-through-shared',
      severity: 'error',
      comment: 'training/ uses the server only through its public surface for training, server/shared.ts.',
      from: { path: '^training/' },
      to: { path: '^server/', pathNot: '^server/shared[.]ts$' },
    },
    {
      name: 'scripts-through-public-surfaces',
      severity: 'error',
      comment: 'scripts/ uses the server only through server/shared.ts and server/embedding.ts.',
      from: { path: '^scripts/' },
      to: { path: '^server/', pathNot: PUBLIC_SURFACES },
    },
    {
      name: 'training-not-to-scripts',
      severity: 'error',
      comment: 'The training module stands on its own; scripts may use it, not the other way round.',
      from: { path: '^training/' },
      to: { path: '^(scripts|tests)/' },
    },
    {
      name: 'scripts-not-to-tests',
      severity: 'error',
      comment: 'Only the benchmarks reach into tests/, for the ONNX models that tests/helpers/ builds in code.',
      from: { path: '^scripts/', pathNot: '^scripts/bench' },
      to: { path: '^tests/' },
    },
    {
      name: 'benches-only-to-test-helpers',
      severity: 'error',
      from: { path: '^scripts/bench' },
      to: { path: '^tests/', pathNot: '^tests/helpers/' },
    },
    {
      name: 'production-not-to-dev-dependencies',
      severity: 'error',
      comment: 'The server image installs production dependencies only (npm ci --omit=dev).',
      from: { path: '^server/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to no file or package.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|coverage)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
  },
};
