import { z } from 'zod';
import { jobId, mapQueue, sfFetchQueue, sfReconcileQueue } from '@broker/contracts';
import { loadConfig, resolveConfigPath } from '@broker/config';
import { loadMappingFile } from '@broker/mapping';
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
import { createSalesforceClients } from '@broker/salesforce/client';
import { createPrisma, createStore, databaseReadiness } from '@broker/store';
import { fetchRecord } from './fetch-record.processor';
import { reconcileSweep } from './reconcile.processor';

const env = loadEnv(workerEnvSchema.extend({ OPS_PORT: z.coerce.number().int().min(0).max(65535).default(9101) }));
const logger = createLogger({ service: 'salesforce-fetcher', level: env.LOG_LEVEL });
const config = loadConfig(env.BROKER_CONFIG);

const registry = createMetricsRegistry('salesforce-fetcher');
const metrics = createPipelineMetrics(registry);
const connections = new Map(config.connections.map((c) => [c.id, c]));
const clients = createSalesforceClients(config.connections, logger, metrics);
const reads = new Map<string, string[]>();
for (const c of config.connections) {
  for (const [object, oc] of Object.entries(c.objects)) {
    if (oc.mapping) reads.set(`${c.id}/${object}`, loadMappingFile(resolveConfigPath(config, oc.mapping)).reads);
  }
}

const connection = createWorkerConnection(env.REDIS_URL);
const prisma = createPrisma(env.DATABASE_URL, { max: Math.min(env.CONCURRENCY + 2, 30) });
const databaseReady = databaseReadiness(prisma);
const store = createStore(prisma);
const outQueue = openQueue(mapQueue, connection, env.QUEUE_PREFIX);
outQueue.on('error', (err) => logger.warn({ err: { message: err.message } }, 'queue error'));

const worker = startWorker(
  sfFetchQueue,
  { 'fetch-record': fetchRecord },
  { connections, clients, reads, store, mapQueue: outQueue, redis: connection, prefix: env.QUEUE_PREFIX },
  {
    connection,
    prefix: env.QUEUE_PREFIX,
    logger,
    concurrency: env.CONCURRENCY,
    onDependencyWaitOver: recordDependencyWait(store),
    onFinalFailure: (job, err) =>
      store.recordStage({ connectionId: job.data.connectionId, sfId: job.data.sfId, stage: 'fetched', outcome: 'failed', queue: job.queueName, jobId: job.id, message: err.message, sfApiCalls: (err as { sfApiCalls?: number }).sfApiCalls ?? 0 }),
  },
);
observeWorker(worker, metrics);

// Reconciliation: one BullMQ job scheduler per connection and triggered object (upsert is idempotent
// across restarts and replicas).
const fetchProducer = openQueue(sfFetchQueue, connection, env.QUEUE_PREFIX);
const reconcileQueue = openQueue(sfReconcileQueue, connection, env.QUEUE_PREFIX);
const wantedSchedulers = new Set<string>();
for (const c of config.connections) {
  for (const [object, oc] of Object.entries(c.objects)) {
    if (!c.reconciliation.enabled || !oc.trigger) continue;
    const id = jobId('reconcile', c.id, object);
    wantedSchedulers.add(id);
    await reconcileQueue.upsertJobScheduler(id, { pattern: c.reconciliation.every }, { name: 'sweep', data: { connectionId: c.id, sfObject: object } });
  }
}
// Schedulers of connections or objects no longer configured (or switched off) would sweep forever.
for (const s of await reconcileQueue.getJobSchedulers()) {
  if (!wantedSchedulers.has(s.key)) await reconcileQueue.removeJobScheduler(s.key);
}
const reconcileWorker = startWorker(
  sfReconcileQueue,
  { sweep: reconcileSweep },
  { connections, clients, store, fetchQueue: fetchProducer },
  { connection, prefix: env.QUEUE_PREFIX, logger, concurrency: 1, onDependencyWaitOver: recordDependencyWait(store) },
);
observeWorker(reconcileWorker, metrics);

const ops = await startOpsServer({ port: env.OPS_PORT, host: env.OPS_HOST, registry, ready: async () => connection.status === 'ready' && worker.isRunning() && reconcileWorker.isRunning() && (await databaseReady()), live: () => worker.isRunning() && reconcileWorker.isRunning() });
logger.info({ opsPort: ops.port, concurrency: env.CONCURRENCY }, 'salesforce-fetcher started');

const shutdown = createShutdown(logger, env.SHUTDOWN_TIMEOUT_MS);
shutdown.add('http', () => ops.close());
shutdown.add('workers', () => Promise.all([worker.close(), reconcileWorker.close()]));
shutdown.add('queues', () => Promise.all([outQueue.close(), fetchProducer.close(), reconcileQueue.close()]));
shutdown.add('prisma', () => prisma.$disconnect());
shutdown.add('redis', () => connection.quit());
shutdown.onSignals();
