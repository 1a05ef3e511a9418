// docker-compose.yml cannot run on this machine (no Docker daemon); `.ci/run` validates its syntax with
// `docker-compose config`, and this spec holds the properties the broker relies on.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { workspaceRoot } from '../../../vitest.shared';

interface Service {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[]; interval?: string; retries?: number };
  profiles?: string[];
  restart?: string;
  stop_grace_period?: string;
}

// `merge: true`: the app services share their settings through `<<: *app` (YAML 1.1 merge keys).
const compose = parse(readFileSync(path.join(workspaceRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = compose.services;

/** Every long-running broker app and the port its health endpoints answer on. */
const apps: [app: string, portVar: 'PORT' | 'OPS_PORT', port: number][] = [
  ['ingress', 'PORT', 3000],
  ['salesforce-fetcher', 'OPS_PORT', 9101],
  ['mapper', 'OPS_PORT', 9102],
  ['fieldnation-writer', 'OPS_PORT', 9103],
  ['salesforce-writer', 'OPS_PORT', 9104],
  ['dashboard', 'PORT', 3100],
];

/** `--flag value` pairs of a command line. */
function flags(command: string[]): Map<string, string> {
  const out = new Map<string, string>();
  command.forEach((arg, i) => {
    if (arg.startsWith('--')) out.set(arg, command[i + 1] ?? '');
  });
  return out;
}

describe('docker-compose.yml', () => {
  it('runs Redis with AOF on and noeviction: queued jobs survive a restart and are never evicted', () => {
    const redis = services.redis!;
    expect(redis.command?.[0]).toBe('redis-server');
    const args = flags(redis.command!);
    expect(args.get('--appendonly')).toBe('yes');
    expect(args.get('--maxmemory-policy')).toBe('noeviction');
  });

  it.each(['redis', 'postgres'])('health-checks %s', (name) => {
    expect(services[name]!.healthcheck?.test.length).toBeGreaterThan(1);
  });

  it('has a one-shot migrate service that waits for a healthy PostgreSQL', () => {
    const migrate = services.migrate!;
    expect(migrate.command?.join(' ')).toMatch(/prisma migrate deploy$/);
    expect(migrate.depends_on?.postgres).toEqual({ condition: 'service_healthy' });
    expect(migrate.restart).toBe('no');
    expect(migrate.environment?.DATABASE_URL).toMatch(/@postgres:5432\//);
  });

  it('has a service for every app and none it does not know', () => {
    const running = Object.entries(services)
      .filter(([, s]) => s.command?.some((a) => a.startsWith('dist/apps/')) && !s.profiles)
      .map(([name]) => name)
      .sort();
    expect(running).toEqual(apps.map(([app]) => app).sort());
  });

  it.each(apps)(
    '%s starts after the migration and healthy Redis and PostgreSQL, and is health-checked on its port',
    (app, portVar, port) => {
      const service = services[app]!;
      expect(service.command).toEqual(['node', `dist/apps/${app}/main.mjs`]);
      expect(service.depends_on).toMatchObject({
        migrate: { condition: 'service_completed_successfully' },
        redis: { condition: 'service_healthy' },
        postgres: { condition: 'service_healthy' },
      });
      expect(service.environment?.[portVar]).toBe(String(port));
      expect(service.environment?.REDIS_URL).toBe('redis://redis:6379');
      const probe = service.healthcheck?.test.join(' ') ?? '';
      expect(probe).toContain(`http://127.0.0.1:${port}/`);
      expect(probe).toMatch(/\/(readyz|healthz)'/);
      // SIGTERM's graceful shutdown (default deadline 25 s) must end before Docker's SIGKILL.
      expect(Number.parseInt(service.stop_grace_period ?? '10s', 10)).toBeGreaterThan(25);
    },
  );

  it('keeps the simulators behind the demo profile', () => {
    expect(services['salesforce-sim']!.profiles).toEqual(['demo']);
    expect(services['fieldnation-sim']!.profiles).toEqual(['demo']);
  });
});
