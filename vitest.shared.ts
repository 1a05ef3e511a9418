// Shared vitest settings: every project resolves the @broker/* libs from source through the
// path aliases of tsconfig.base.json, so libs are never pre-built.
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

export function projectConfig(dir: string, overrides: { testTimeout?: number; setupFiles?: string[] } = {}): ViteUserConfig {
  return {
    root: dir,
    resolve: { alias },
    test: {
      include: ['src/**/*.spec.ts', 'test/**/*.spec.ts'],
      environment: 'node',
      testTimeout: overrides.testTimeout ?? 20_000,
      hookTimeout: 60_000,
      // The Field Nation contract check runs after every test file (libs/testing/src/fieldnation-contract.setup.ts).
      setupFiles: [path.join(root, 'libs/testing/src/fieldnation-contract.setup.ts'), ...(overrides.setupFiles ?? [])],
      globalSetup: [path.join(root, 'libs/testing/src/global-setup.ts')],
      pool: 'forks',
      reporters: ['default'],
    },
  };
}
