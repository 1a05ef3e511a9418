// ESLint (flat config): typescript-eslint's recommended rules, Prettier's formatting rules off
// (formatting is Prettier's job: npm run format), and Nx's module boundaries over the project tags.
// Tags (apps/*/project.json, libs/*/project.json):
//   scope:app      a production app (ingress, workers, dashboard, cli)
//   scope:sim      an offline simulator (salesforce-sim, fieldnation-sim)
//   scope:lib      a library of ours; lib:leaf marks the ones that depend on no other lib (mapping, contracts)
//   scope:testing  libs/testing, for tests only
//   scope:e2e      whole-broker test projects
// Production code: apps and simulators depend on libs only, libs on libs, never on a simulator or
// libs/testing. Tests (spec files, test/ folders, the e2e projects) may also use libs/testing and
// import a simulator's src by relative path. `npm run lint` also lints the deliberate violations in
// */lint-fixtures/ and fails unless each one is reported (scripts/lint-boundaries-check.mjs).
import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export const TEST_FILES = [
  '**/*.spec.ts',
  '**/test/**/*.ts',
  '**/bench/**/*.ts',
  // An app's scripts/ (e.g. the ingress's capture-fixture maker) are developer tools, not the app.
  'apps/*/scripts/**/*.ts',
  '**/vitest.config.ts',
  'apps/broker-e2e/**/*.ts',
  'apps/chaos-e2e/**/*.ts',
];

// The project graph counts test files too, so a lib whose tests start a simulator (which uses that
// lib) forms a cycle lib -> sim -> lib. Production code can never close such a cycle (libs and
// simulators may not import simulators or apps), so cycles through these pairs are test-only.
// runtime's tests check how it treats the real Field Nation and Salesforce clients' errors, and those
// clients log through runtime: a test-only cycle (runtime's production code imports contracts only).
// config's schema checks SOQL conditions with @broker/salesforce, whose jsforce client (the separate
// entry @broker/salesforce/client) reads config: a cycle of projects, not of files.
const ignoredCircularDependencies = [
  ['tag:scope:lib', 'tag:scope:sim'],
  ['tag:scope:app', 'tag:scope:sim'],
  ['runtime', 'fieldnation'],
  ['runtime', 'salesforce'],
  ['config', 'salesforce'],
  // libs/testing's in-memory fakes implement runtime's and store's interfaces, and those libs' own
  // tests use libs/testing: a cycle only through test files.
  ['runtime', 'testing'],
  ['store', 'testing'],
  ['runtime', 'store'],
];

const productionConstraints = [
  { sourceTag: 'scope:app', onlyDependOnLibsWithTags: ['scope:lib'] },
  { sourceTag: 'scope:sim', onlyDependOnLibsWithTags: ['scope:lib'] },
  { sourceTag: 'scope:lib', onlyDependOnLibsWithTags: ['scope:lib'] },
  { sourceTag: 'lib:leaf', onlyDependOnLibsWithTags: [] },
  { sourceTag: 'scope:testing', onlyDependOnLibsWithTags: ['scope:lib'] },
  { sourceTag: 'scope:e2e', onlyDependOnLibsWithTags: ['scope:lib', 'scope:testing'] },
];

const testConstraints = [
  { sourceTag: 'scope:app', onlyDependOnLibsWithTags: ['scope:lib', 'scope:testing'] },
  { sourceTag: 'scope:sim', onlyDependOnLibsWithTags: ['scope:lib', 'scope:testing'] },
  { sourceTag: 'scope:lib', onlyDependOnLibsWithTags: ['scope:lib', 'scope:testing'] },
  { sourceTag: 'scope:testing', onlyDependOnLibsWithTags: ['scope:lib', 'scope:testing'] },
  { sourceTag: 'scope:e2e', onlyDependOnLibsWithTags: ['scope:lib', 'scope:testing'] },
];

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', 'dist/**', 'tmp/**', 'coverage/**', '.nx/**', 'libs/store/src/generated/**', '**/lint-fixtures/**'],
  },
  ...tseslint.configs.recommended,
  prettier,
  {
    files: ['**/*.ts', '**/*.mjs'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@nx/enforce-module-boundaries': [
        'error',
        { enforceBuildableLibDependency: false, allow: [], ignoredCircularDependencies, depConstraints: productionConstraints },
      ],
    },
  },
  {
    files: TEST_FILES,
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          // Tests drive the simulators in-process through their src/index (relative imports, the sims
          // have no path alias); the Salesforce simulator's Flow test deploys what the CLI generates.
          // the workspace's vitest.shared.ts and scripts/lib (the e2e harness) are not in any project.
          allow: [
            '^(\\.\\./)+(apps/)?(salesforce|fieldnation)-sim/src/',
            '^\\.\\./\\.\\./cli/src/salesforce-metadata\\.generator$',
            // The e2e replay of captured payloads uses the ingress's fixture loader (a test helper).
            '^\\.\\./\\.\\./ingress/test/captured-replay$',
            '^(\\.\\./)+(vitest\\.shared(\\.ts)?|scripts/lib/[a-z-]+|bench/[a-z-]+)$',
          ],
          // A test may import its own lib through its public alias, as its users do.
          allowCircularSelfDependency: true,
          ignoredCircularDependencies,
          depConstraints: testConstraints,
        },
      ],
      // Tests read untyped JSON and XML bodies and poke at internals on purpose.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
);
