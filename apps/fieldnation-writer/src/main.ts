import { z } from 'zod';
import { fnWriteQueue, sfWriteQueue } from '@broker/contracts';
import { loadConfig } from '@broker/config';
import { FieldNationClient } from '@broker/fieldnation';
import {
  createLogger,
  createMetricsRegistry,
  createPipelineMetrics,
  createShutdown,
  createWorkerConnection,
  loadEnv,
  observeWorker,
  openQueue,
  recordDependencyWait,
  startOpsServer,
  startWorker,
  workerEnvSchema,
} from '@broker/runtime';
import { createPrisma, createStore, databaseReadiness } from '@broker/store';
import { postMessage } from './post-message.processor';
import { writeWorkOrder } from './write-work-order.processor';

const env = loadEnv(workerEnvSchema.extend({ OPS_PORT: z.coerce.number().int().min(0).max(65535).default(9103) }));
const logger = createLogger({ service: 'fieldnation-writer', level: env.LOG_LEVEL });
const config = loadConfig(env.BROKER_CONFIG);

const registry = createMetricsRegistry('fieldnation-writer');
const metrics = createPipelineMetrics(registry);
const connections = new Map(config.connections.map((c) => [c.id, c]));
const clients = new Map(
  config.connections.map((c) => [
    c.id,
    new FieldNationClient({
      environment: c.fieldnation.environment,
      credentials: c.fieldnation.auth,
      rateLimit: { requestsPerSecond: c.fieldnation.requestsPerSecond },
      connectTimeoutMs: c.fieldnation.connectTimeoutMs,
      timeoutMs: c.fieldnation.timeoutMs,
      // Short in-call retries; longer waits (Retry-After, 5xx storms) become BullMQ delays and retries,
      // so the record lock is never held for minutes.
      retry: { maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 2_000, maxRetryAfterMs: 5_000 },
      logger: logger.child({ connectionId: c.id }),
      onRequest: (e) => {
        metrics.fnCalls.inc({ connection: c.id, route: e.route, status: e.status ? `${Math.floor(e.status / 100)}xx` : 'none' });
        if (e.status === 429) metrics.fnRateLimited.inc({ connection: c.id });
      },
    }),
  ]),
);

const connection = createWorkerConnection(env.REDIS_URL);
const prisma = createPrisma(env.DATABASE_URL, { max: Math.min(env.CONCURRENCY + 2, 30) });
const databaseReady = databaseReadiness(prisma);
const store = createStore(prisma);
const sfQueue = openQueue(sfWriteQueue, connection, env.QUEUE_PREFIX);
sfQueue.on('error', (err) => logger.warn({ err: { message: err.message } }, 'queue error'));

const worker = startWorker(
  fnWriteQueue,
  { 'write-work-order': writeWorkOrder, 'post-message': postMessage },
  { connections, clients, store, sfWriteQueue: sfQueue, redis: connection, prefix: env.QUEUE_PREFIX },
  {
    connection,
    prefix: env.QUEUE_PREFIX,
    logger,
    concurrency: env.CONCURRENCY,
    onDependencyWaitOver: recordDependencyWait(store),
    onFinalFailure: (job, err) =>
      store.recordStage({ connectionId: job.data.connectionId, sfId: job.data.sfId, workOrderId: job.data.workOrderId, stage: job.name === 'post-message' ? 'message' : 'written', outcome: 'failed', queue: job.queueName, jobId: job.id, message: err.message }),
  },
);
observeWorker(worker, metrics);

const ops = await startOpsServer({ port: env.OPS_PORT, host: env.OPS_HOST, registry, ready: async () => connection.status === 'ready' && worker.isRunning() && (await databaseReady()), live: () => worker.isRunning() });
logger.info({ opsPort: ops.port }, 'fieldnation-writer started');

const shutdown = createShutdown(logger, env.SHUTDOWN_TIMEOUT_MS);
shutdown.add('http', () => ops.close());
shutdown.add('workers', () => worker.close());
shutdown.add('queues', () => sfQueue.close());
shutdown.add('prisma', () => prisma.$disconnect());
shutdown.add('redis', () => connection.quit());
shutdown.onSignals();
