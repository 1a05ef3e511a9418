// The Docker image runs esbuild bundles (scripts/build-apps.ts), not the TypeScript the other specs
// run through tsx: an import that only tsx resolves (a deep `jsforce/lib/x` path without `.js`, once)
// passes every other test and breaks every container at start. Each production bundle is built and
// started with an empty environment: it must get as far as its own env check (exit 78), which means
// every module it imports was found.
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { workspaceRoot } from '../../../vitest.shared';

const outDir = `tmp/bundle-check-${process.pid}`;
const APPS = ['ingress', 'salesforce-fetcher', 'mapper', 'fieldnation-writer', 'salesforce-writer', 'dashboard', 'cli'];

afterAll(() => rmSync(path.join(workspaceRoot, outDir), { recursive: true, force: true }));

describe('production bundles', () => {
  it('build, and every app starts as far as its environment check', () => {
    execFileSync(process.execPath, ['--import', 'tsx', 'scripts/build-apps.ts', '--outdir', outDir, ...APPS], {
      cwd: workspaceRoot,
      stdio: 'pipe',
    });
    for (const app of APPS) {
      const bundle = path.join(workspaceRoot, outDir, app, 'main.mjs');
      const args = app === 'cli' ? [bundle, '--help'] : [bundle];
      const run = spawnSync(process.execPath, args, {
        cwd: workspaceRoot,
        env: { PATH: process.env.PATH },
        encoding: 'utf8',
        timeout: 30_000,
      });
      const output = `${run.stdout}${run.stderr}`;
      expect(output, app).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find module|SyntaxError/);
      if (app === 'cli') expect({ app, status: run.status }).toEqual({ app, status: 0 });
      else {
        expect({ app, status: run.status }).toEqual({ app, status: 78 });
        // The env check, or (ingress, dashboard: their other variables have defaults) the config source's.
        expect(output, app).toMatch(/invalid environment|invalid config \(environment\):.*BROKER_CONFIG:/s);
      }
    }
  }, 120_000);
});
