import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { fnEventQueue, sfFetchQueue } from '@broker/contracts';
import { ConfigError, configSourceOf } from '@broker/config';
import { loadActiveConfig, type ConfigWatch } from '@broker/config-store';
import { baseEnvSchema, closeServer, createMetricsRegistry, openQueue, startHttpApp, startOpsServer } from '@broker/runtime';
import { createIngressApp, OUTBOUND_MAX_BODY_BYTES, WEBHOOK_MAX_BODY_BYTES } from './ingress-app';
import { createIngressMetrics } from './ingress-metrics';
import { createIngressServer } from './ingress-server';
import { createPayloadCapture } from './payload-capture';
import { followObjectSettings } from './live-objects';
import { createPrisma } from '@broker/store';

const { env, logger, redis, shutdown } = startHttpApp(
  'ingress',
  baseEnvSchema
    .extend({
      PORT: z.coerce.number().int().min(0).max(65535).default(3000),
      HOST: z.string().default('0.0.0.0'),
      /** /metrics (and /healthz, /readyz) for Prometheus: keep this port off the public network. */
      OPS_PORT: z.coerce.number().int().min(0).max(65535).default(9100),
      /** The config file; or BROKER_CONFIG_SOURCE=database and DATABASE_URL (read once at start: the ingress's settings need a restart). */
      BROKER_CONFIG: z.string().min(1).optional(),
      BROKER_CONFIG_SOURCE: z.enum(['file', 'database']).default('file'),
      DATABASE_URL: z.string().url().optional(),
      /** Database mode: how often the stored versions are checked besides the Redis announcement (the objects accepted follow them). */
      BROKER_CONFIG_CHECK_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
      PUBLIC_URL: z.string().url().optional(),
      OUTBOUND_MAX_BODY_BYTES: z.coerce.number().int().positive().default(OUTBOUND_MAX_BODY_BYTES),
      WEBHOOK_MAX_BODY_BYTES: z.coerce.number().int().positive().default(WEBHOOK_MAX_BODY_BYTES),
      STORE_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
      /** HTTPS on PORT when both are set (PEM files); TLS_CLIENT_CA_FILE: CA(s) of accepted client certificates. */
      TLS_CERT_FILE: z.string().min(1).optional(),
      TLS_KEY_FILE: z.string().min(1).optional(),
      TLS_CLIENT_CA_FILE: z.string().min(1).optional(),
      /** Payload capture for fixtures (docs/operations.md "Capturing real payloads"): off unless CAPTURE_DIR is set. */
      CAPTURE_DIR: z.string().min(1).optional(),
      CAPTURE_MAX_BYTES: z.coerce
        .number()
        .int()
        .positive()
        .default(256 * 1024),
      CAPTURE_LIMIT: z.coerce.number().int().positive().default(50),
      CAPTURE_REDACT_FIELDS: z.string().default(''),
    })
    .refine((e) => Boolean(e.TLS_CERT_FILE) === Boolean(e.TLS_KEY_FILE), {
      message: 'set both TLS_CERT_FILE and TLS_KEY_FILE, or neither',
      path: ['TLS_KEY_FILE'],
    }),
  // The jobs of requests that arrive together go to Redis in one write (and their replies come back
  // in one read): a round trip each cost the ingress and Redis a system call apiece on either side.
  { enableAutoPipelining: true },
);

let config;
let configVersion: number | null = null;
try {
  const active = await loadActiveConfig(configSourceOf(env), { databaseUrl: env.DATABASE_URL });
  config = active.config;
  configVersion = active.version;
} catch (err) {
  if (err instanceof ConfigError) {
    logger.fatal(err.message);
    process.exit(78);
  }
  throw err;
}
for (const c of config.connections) {
  if (c.salesforce.unsafeAllowNoPathToken && !c.salesforce.pathToken) {
    logger.warn(
      { connectionId: c.id },
      'salesforce.unsafeAllowNoPathToken: anyone who knows the URL can post Outbound Messages for this connection',
    );
  }
}

const registry = createMetricsRegistry('ingress');
const metrics = createIngressMetrics(registry);
// Redis is fail-fast (startHttpApp): while it is down the endpoints answer a fault / 503 at once.
const fetchQueue = openQueue(sfFetchQueue, redis, env.QUEUE_PREFIX);
const eventQueue = openQueue(fnEventQueue, redis, env.QUEUE_PREFIX);
fetchQueue.on('error', (err) => logger.warn({ err: { message: err.message } }, 'queue error'));
eventQueue.on('error', (err) => logger.warn({ err: { message: err.message } }, 'queue error'));

const capture = env.CAPTURE_DIR
  ? createPayloadCapture({
      dir: env.CAPTURE_DIR,
      maxBytes: env.CAPTURE_MAX_BYTES,
      limit: env.CAPTURE_LIMIT,
      redactFields: env.CAPTURE_REDACT_FIELDS.split(',')
        .map((f) => f.trim())
        .filter(Boolean),
      connections: new Map(config.connections.map((c) => [c.id, c])),
      logger,
      metrics,
    })
  : undefined;
if (capture)
  logger.warn(
    { dir: env.CAPTURE_DIR, limit: env.CAPTURE_LIMIT },
    'payload capture is on: redacted deliveries are written to disk; turn it off after the sandbox run',
  );

// Database mode's configuration watch (below, once the servers listen): an Outbound Message for an
// object a version being applied adds waits for it.
let watch: ConfigWatch | undefined;
const app = createIngressApp({
  connections: new Map(config.connections.map((c) => [c.id, c])),
  ingress: config.ingress,
  fetchQueue,
  eventQueue,
  logger,
  metrics,
  publicUrl: env.PUBLIC_URL ?? `http://localhost:${env.PORT}`,
  outboundMaxBodyBytes: env.OUTBOUND_MAX_BODY_BYTES,
  webhookMaxBodyBytes: env.WEBHOOK_MAX_BODY_BYTES,
  ready: () => redis.status === 'ready',
  storeReady: () => redis.status === 'ready',
  storeTimeoutMs: env.STORE_TIMEOUT_MS,
  capture,
  configApplying: () => watch?.applying(),
});

const tls =
  env.TLS_CERT_FILE && env.TLS_KEY_FILE
    ? {
        cert: readFileSync(env.TLS_CERT_FILE),
        key: readFileSync(env.TLS_KEY_FILE),
        clientCa: env.TLS_CLIENT_CA_FILE ? readFileSync(env.TLS_CLIENT_CA_FILE) : undefined,
      }
    : undefined;
const server = createIngressServer(app, tls);
const closeHttp = closeServer(server);
server.listen(env.PORT, env.HOST, () => {
  logger.info({ port: env.PORT, tls: Boolean(tls), connections: config.connections.map((c) => c.id) }, 'ingress listening');
});
// Salesforce's per-attempt timeout is 60 s; keep-alive helps its sender and benchmarks alike.
server.keepAliveTimeout = 65_000;
const ops = await startOpsServer({ port: env.OPS_PORT, registry, ready: () => redis.status === 'ready' });

if (env.BROKER_CONFIG_SOURCE === 'database' && env.DATABASE_URL) {
  const prisma = createPrisma(env.DATABASE_URL, { max: 1 });
  const objectSettings = followObjectSettings({
    connections: config.connections,
    version: configVersion,
    prisma,
    redis,
    prefix: env.QUEUE_PREFIX,
    intervalMs: env.BROKER_CONFIG_CHECK_SECONDS * 1000,
    logger,
  });
  watch = objectSettings;
  shutdown.add('queues', () => objectSettings.close(), 'config-watch');
  shutdown.add('prisma', () => prisma.$disconnect());
}

shutdown.add('http', closeHttp);
shutdown.add('http', () => ops.close(), 'ops');
if (capture) shutdown.add('queues', () => capture.drain(), 'capture');
shutdown.add('queues', async () => {
  await fetchQueue.close();
  await eventQueue.close();
});
shutdown.onSignals();
