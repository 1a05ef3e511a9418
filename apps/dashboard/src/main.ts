import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import { z } from 'zod';
import { allQueues, sfFetchQueue, type QueueOf } from '@broker/contracts';
import { baseEnvSchema, closeServer, createMetricsRegistry, openQueue, startHttpApp } from '@broker/runtime';
import { createPrisma, createStore } from '@broker/store';
import { activePreflight } from './active-preflight';
import { authEnvSchema, AuthSettingsError, resolveAuthSettings, type AuthSettings } from './auth.settings';
import { createCsrfTokens } from './csrf.middleware';
import { createDashboardApp } from './dashboard-app';
import { isLoopbackAddress } from './loopback-host.middleware';
import { registerQueueDepthGauge } from './queue-metrics';
import { createSetupService } from './setup.service';

const { env, logger, redis, shutdown } = startHttpApp(
  'dashboard',
  baseEnvSchema.merge(authEnvSchema).extend({
    PORT: z.coerce.number().int().min(0).max(65535).default(3100),
    /** Default 0.0.0.0; with DASHBOARD_INSECURE=true, 127.0.0.1 and nothing but a loopback address. */
    HOST: z.string().optional(),
    DATABASE_URL: z.string().url(),
    /** Comma-separated origins allowed to POST besides the Host header's own (behind a rewriting proxy). */
    DASHBOARD_ALLOWED_ORIGINS: z.string().default(''),
    /** Connection config: enables "Test connection" (the preflight of `broker doctor`). */
    BROKER_CONFIG: z.string().min(1).optional(),
    /** `database`: the configuration is the latest version stored in PostgreSQL (docs/operations.md). */
    BROKER_CONFIG_SOURCE: z.enum(['file', 'database']).optional(),
    /** Public URL of the ingress, which the Field Nation webhook must point at. */
    PUBLIC_URL: z.string().url().optional(),
  }),
);

let auth: AuthSettings;
try {
  auth = resolveAuthSettings(env);
} catch (err) {
  if (err instanceof AuthSettingsError) {
    process.stderr.write(`dashboard refuses to start: ${err.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  throw err;
}
if (auth.mode === 'insecure' && env.HOST && !isLoopbackAddress(env.HOST)) {
  process.stderr.write(
    `dashboard refuses to start: DASHBOARD_INSECURE=true listens on a loopback address only (HOST=127.0.0.1 or ::1, not ${env.HOST}); set credentials to serve it on the network\n`,
  );
  process.exit(78); // EX_CONFIG
}
const host = env.HOST ?? (auth.mode === 'insecure' ? '127.0.0.1' : '0.0.0.0');
if (auth.mode === 'insecure') {
  const line = '!'.repeat(78);
  process.stderr.write(
    `${line}\n!! DASHBOARD_INSECURE=true: the dashboard has NO AUTHENTICATION. Anyone who reaches this\n` +
      `!! port can replay, re-sync and delete jobs. Use only on a local machine.\n${line}\n`,
  );
  logger.warn('dashboard running without authentication (DASHBOARD_INSECURE=true)');
}

const queues = allQueues.map((contract) => {
  const queue = openQueue(contract, redis, env.QUEUE_PREFIX);
  queue.on('error', (err) => logger.warn({ queue: contract.name, err: { message: err.message } }, 'queue error'));
  return queue;
});
const fetchQueue = queues.find((q) => q.name === sfFetchQueue.name) as QueueOf<typeof sfFetchQueue>;
const prisma = createPrisma(env.DATABASE_URL, { max: 5 });
const store = createStore(prisma);

const registry = createMetricsRegistry('dashboard');
registerQueueDepthGauge(registry, queues);

// Form tokens derive from the credentials, so every replica accepts them and a credential rotation
// invalidates them; without credentials (insecure mode) a per-process secret does.
const csrf = createCsrfTokens(
  auth.mode === 'credentials'
    ? createHash('sha256')
        .update(`dashboard-csrf\u0000${auth.password ?? ''}\u0000${auth.token ?? ''}`)
        .digest()
    : undefined,
);

// The dashboard is how an operator looks into a broken deployment, so a configuration that does not
// load is shown where the Test connection buttons would be (the other apps refuse to start with it).
const preflight =
  env.BROKER_CONFIG || env.BROKER_CONFIG_SOURCE === 'database'
    ? activePreflight({ env: process.env, prisma, publicUrl: env.PUBLIC_URL, logger })
    : undefined;

// The setup pages read the configuration on every request (a version saved since is what they show).
const setupSource = env.BROKER_CONFIG_SOURCE === 'database' ? 'database' : env.BROKER_CONFIG ? 'file' : undefined;
const setup = setupSource
  ? createSetupService({
      mode: setupSource,
      file: env.BROKER_CONFIG,
      prisma,
      store,
      redis,
      queuePrefix: env.QUEUE_PREFIX,
      env: process.env,
      publicUrl: env.PUBLIC_URL,
      logger: logger.child({ setup: true }),
    })
  : undefined;

const app = createDashboardApp({
  preflight,
  setup,
  csrf,
  queues,
  fetchQueue,
  store,
  logger,
  auth,
  registry,
  allowedOrigins: env.DASHBOARD_ALLOWED_ORIGINS.split(',')
    .map((o) => o.trim())
    .filter(Boolean),
  ready: async () => {
    await Promise.all([redis.ping(), prisma.$queryRaw`SELECT 1`]);
    return true;
  },
});

const server: Server = app.listen(env.PORT, host, () => {
  logger.info({ host, port: env.PORT, prefix: env.QUEUE_PREFIX, auth: auth.mode }, 'dashboard listening');
});

shutdown.add('http', closeServer(server));
shutdown.add('queues', () => Promise.all(queues.map((q) => q.close())));
shutdown.add('prisma', () => prisma.$disconnect());
shutdown.onSignals();
