// Shared vitest settings: every project resolves the @broker/* libs from source through the
// path aliases of tsconfig.base.json, so libs are never pre-built.
//
// Test tiers (README "Tests"): a project's `tier:*` tag in its project.json says what its specs need.
//   tier:unit         every spec is a unit spec: no Redis, no PostgreSQL (local HTTP servers are fine)
//   tier:integration  `*.unit.spec.ts` files are unit specs, every other spec needs Redis and PostgreSQL
//   tier:e2e          whole-broker runs (apps/broker-e2e, apps/chaos-e2e)
// BROKER_TEST_TIER (unit | integration | e2e, set by the Nx targets test-unit, test-integration,
// test-e2e) picks one tier's files; unset, a project runs all of its specs. Only a run that includes
// specs needing services gets the global setup that checks Redis and PostgreSQL and migrates the
// template database, so the unit tier runs with neither reachable (.ci/run proves it with unshare -n).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { ViteUserConfig } from 'vitest/config';

const root = path.dirname(fileURLToPath(import.meta.url));
const tsconfig = JSON.parse(readFileSync(path.join(root, 'tsconfig.base.json'), 'utf8')) as {
  compilerOptions: { paths: Record<string, string[]> };
};

export const workspaceRoot = root;

export const alias = Object.fromEntries(
  Object.entries(tsconfig.compilerOptions.paths).map(([name, [target]]) => [name, path.join(root, target!)]),
);

export type TestTier = 'unit' | 'integration' | 'e2e';
const TIERS: readonly TestTier[] = ['unit', 'integration', 'e2e'];
const SPECS = ['src/**/*.spec.ts', 'test/**/*.spec.ts'];
const UNIT_SPECS = ['src/**/*.unit.spec.ts', 'test/**/*.unit.spec.ts'];

/** The project's tier from its project.json tags (exactly one `tier:*` tag). */
export function projectTier(dir: string): TestTier {
  const project = JSON.parse(readFileSync(path.join(dir, 'project.json'), 'utf8')) as { name: string; tags?: string[] };
  const tiers = (project.tags ?? []).filter((t) => t.startsWith('tier:')).map((t) => t.slice('tier:'.length));
  const [tier] = tiers;
  if (tiers.length !== 1 || !TIERS.includes(tier as TestTier)) {
    throw new Error(
      `${project.name}/project.json needs exactly one tag of ${TIERS.map((t) => `tier:${t}`).join(', ')} (has ${tiers.join(', ') || 'none'})`,
    );
  }
  return tier as TestTier;
}

function requestedTier(): TestTier | undefined {
  const value = process.env.BROKER_TEST_TIER;
  if (!value) return undefined;
  if (!TIERS.includes(value as TestTier)) throw new Error(`BROKER_TEST_TIER must be one of ${TIERS.join(', ')} (is ${value})`);
  return value as TestTier;
}

/** Which spec files of a project of `tier` belong to the run, and whether they need Redis and PostgreSQL. */
export function tierSelection(
  tier: TestTier,
  requested: TestTier | undefined,
): { include: string[]; exclude: string[]; services: boolean } {
  if (tier === 'unit') return { include: !requested || requested === 'unit' ? SPECS : [], exclude: [], services: false };
  if (tier === 'e2e') return { include: !requested || requested === 'e2e' ? SPECS : [], exclude: [], services: true };
  if (requested === 'unit') return { include: UNIT_SPECS, exclude: [], services: false };
  if (requested === 'integration') return { include: SPECS, exclude: ['**/*.unit.spec.ts'], services: true };
  if (requested === 'e2e') return { include: [], exclude: [], services: false };
  return { include: SPECS, exclude: [], services: true };
}

export function projectConfig(dir: string, overrides: { testTimeout?: number; setupFiles?: string[] } = {}): ViteUserConfig {
  const selection = tierSelection(projectTier(dir), requestedTier());
  return {
    root: dir,
    resolve: { alias },
    test: {
      include: selection.include,
      exclude: ['**/node_modules/**', ...selection.exclude],
      // A project with no spec of the requested tier has nothing to run (`nx run-many` asks every project).
      passWithNoTests: selection.include.length === 0,
      environment: 'node',
      testTimeout: overrides.testTimeout ?? 20_000,
      hookTimeout: 60_000,
      // The Field Nation contract check runs after every test file (libs/testing/src/fieldnation-contract.setup.ts).
      setupFiles: [path.join(root, 'libs/testing/src/fieldnation-contract.setup.ts'), ...(overrides.setupFiles ?? [])],
      globalSetup: selection.services ? [path.join(root, 'libs/testing/src/global-setup.ts')] : [],
      pool: 'forks',
      reporters: ['default'],
    },
  };
}
