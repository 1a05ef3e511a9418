import type { Server } from 'node:http';
import { z } from 'zod';
import { fnEventQueue, sfFetchQueue } from '@broker/contracts';
import { loadConfig, ConfigError } from '@broker/config';
import {
  baseEnvSchema,
  createLogger,
  createMetricsRegistry,
  createProducerConnection,
  createShutdown,
  loadEnv,
  openQueue,
} from '@broker/runtime';
import { createIngressApp } from './ingress-app';
import { createIngressMetrics } from './ingress-metrics';

const env = loadEnv(
  baseEnvSchema.extend({
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    HOST: z.string().default('0.0.0.0'),
    BROKER_CONFIG: z.string().min(1),
    PUBLIC_URL: z.string().url().optional(),
    MAX_BODY_BYTES: z.coerce.number().int().positive().default(2 * 1024 * 1024),
    STORE_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
  }),
);
const logger = createLogger({ service: 'ingress', level: env.LOG_LEVEL });

let config;
try {
  config = loadConfig(env.BROKER_CONFIG);
} catch (err) {
  if (err instanceof ConfigError) {
    logger.fatal(err.message);
    process.exit(78);
  }
  throw err;
}

const registry = createMetricsRegistry('ingress');
const metrics = createIngressMetrics(registry);
// Fail-fast connection: while Redis is down the endpoints answer a fault / 503 at once.
const redis = createProducerConnection(env.REDIS_URL);
redis.on('error', (err) => logger.warn({ err: { message: err.message } }, 'redis connection error'));
const fetchQueue = openQueue(sfFetchQueue, redis, env.QUEUE_PREFIX);
const eventQueue = openQueue(fnEventQueue, redis, env.QUEUE_PREFIX);
fetchQueue.on('error', (err) => logger.warn({ err: { message: err.message } }, 'queue error'));
eventQueue.on('error', (err) => logger.warn({ err: { message: err.message } }, 'queue error'));

const app = createIngressApp({
  connections: new Map(config.connections.map((c) => [c.id, c])),
  fetchQueue,
  eventQueue,
  logger,
  metrics,
  publicUrl: env.PUBLIC_URL ?? `http://localhost:${env.PORT}`,
  maxBodyBytes: env.MAX_BODY_BYTES,
  ready: () => redis.status === 'ready',
  storeReady: () => redis.status === 'ready',
  storeTimeoutMs: env.STORE_TIMEOUT_MS,
  metricsText: () => registry.metrics(),
  metricsContentType: registry.contentType,
});

const server: Server = app.listen(env.PORT, env.HOST, () => {
  logger.info({ port: env.PORT, connections: config.connections.map((c) => c.id) }, 'ingress listening');
});
// Salesforce's per-attempt timeout is 60 s; keep-alive helps its sender and benchmarks alike.
server.keepAliveTimeout = 65_000;

const shutdown = createShutdown(logger, env.SHUTDOWN_TIMEOUT_MS);
shutdown.add('http', () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeIdleConnections(); }));
shutdown.add('queues', async () => { await fetchQueue.close(); await eventQueue.close(); });
shutdown.add('redis', () => redis.quit().catch(() => redis.disconnect()));
shutdown.onSignals();
