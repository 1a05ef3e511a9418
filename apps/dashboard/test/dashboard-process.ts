import { spawn } from 'node:child_process';
import path from 'node:path';
import { workspaceRoot } from '../../../vitest.shared';
import type { DashboardUnderTest } from './dashboard-test-kit';

/**
 * The dashboard's main.ts as its own process, over the database and Redis prefix of an in-process
 * dashboard; `env` adds or overrides variables (HOST, PORT, LOG_LEVEL, auth settings). Its stdout and
 * stderr are pipes.
 */
export function spawnDashboardMain(dash: DashboardUnderTest, env: Record<string, string>) {
  return spawn(path.join(workspaceRoot, 'node_modules/.bin/tsx'), ['apps/dashboard/src/main.ts'], {
    cwd: workspaceRoot,
    env: {
      PATH: process.env.PATH!,
      DATABASE_URL: dash.db.url,
      REDIS_URL: 'redis://127.0.0.1:6379',
      QUEUE_PREFIX: dash.prefix,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
