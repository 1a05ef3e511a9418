import { z } from 'zod';
import { sfWriteQueue } from '@broker/contracts';
import { loadConfig } from '@broker/config';
import {
  createLogger,
  createMetricsRegistry,
  createPipelineMetrics,
  createShutdown,
  createWorkerConnection,
  loadEnv,
  observeWorker,
  recordDependencyWait,
  startOpsServer,
  startWorker,
  workerEnvSchema,
} from '@broker/runtime';
import { createSalesforceClients } from '@broker/salesforce/client';
import { createPrisma, createStore, databaseReadiness } from '@broker/store';
import { writeRecord } from './write-record.processor';

const env = loadEnv(workerEnvSchema.extend({ OPS_PORT: z.coerce.number().int().min(0).max(65535).default(9104) }));
const logger = createLogger({ service: 'salesforce-writer', level: env.LOG_LEVEL });
const config = loadConfig(env.BROKER_CONFIG);

const registry = createMetricsRegistry('salesforce-writer');
const metrics = createPipelineMetrics(registry);
const connections = new Map(config.connections.map((c) => [c.id, c]));
const clients = createSalesforceClients(config.connections, logger, metrics);
const connection = createWorkerConnection(env.REDIS_URL);
const prisma = createPrisma(env.DATABASE_URL, { max: Math.min(env.CONCURRENCY + 2, 30) });
const databaseReady = databaseReadiness(prisma);
const store = createStore(prisma);

const worker = startWorker(
  sfWriteQueue,
  { 'write-record': writeRecord },
  { connections, clients, store, redis: connection, prefix: env.QUEUE_PREFIX },
  {
    connection,
    prefix: env.QUEUE_PREFIX,
    logger,
    concurrency: env.CONCURRENCY,
    onDependencyWaitOver: recordDependencyWait(store),
    onFinalFailure: (job, err) =>
      store.recordStage({ connectionId: job.data.connectionId, sfId: job.data.sfId, workOrderId: job.data.cause?.workOrderId, stage: 'sf-written', outcome: 'failed', queue: job.queueName, jobId: job.id, message: err.message, sfApiCalls: (err as { sfApiCalls?: number }).sfApiCalls ?? 0 }),
  },
);
observeWorker(worker, metrics);

const ops = await startOpsServer({ port: env.OPS_PORT, host: env.OPS_HOST, registry, ready: async () => connection.status === 'ready' && worker.isRunning() && (await databaseReady()), live: () => worker.isRunning() });
logger.info({ opsPort: ops.port }, 'salesforce-writer started');

const shutdown = createShutdown(logger, env.SHUTDOWN_TIMEOUT_MS);
shutdown.add('http', () => ops.close());
shutdown.add('workers', () => worker.close());
shutdown.add('prisma', () => prisma.$disconnect());
shutdown.add('redis', () => connection.quit());
shutdown.onSignals();
