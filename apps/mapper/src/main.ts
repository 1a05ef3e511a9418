import { z } from 'zod';
import { fnEventQueue, fnWriteQueue, maintenanceQueue, mapQueue, sfWriteQueue } from '@broker/contracts';
import { loadConfig, resolveConfigPath } from '@broker/config';
import { loadEventRulesFile, loadMappingFile, type CompiledEventRules, type CompiledMapping } from '@broker/mapping';
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
import { FieldNationClient } from '@broker/fieldnation';
import { handleFieldNationEvent } from './fn-event.processor';
import { mapRecord } from './map-record.processor';
import { retentionSweep } from './retention-sweep.processor';

const env = loadEnv(workerEnvSchema.extend({ OPS_PORT: z.coerce.number().int().min(0).max(65535).default(9102) }));
const logger = createLogger({ service: 'mapper', level: env.LOG_LEVEL });
const config = loadConfig(env.BROKER_CONFIG);

// Mappings compile once at start-up; a broken mapping stops the app here with the file and entry named.
const mappings = new Map<string, CompiledMapping>();
const eventRules = new Map<string, CompiledEventRules>();
for (const c of config.connections) {
  for (const [object, oc] of Object.entries(c.objects)) {
    if (oc.mapping) mappings.set(`${c.id}/${object}`, loadMappingFile(resolveConfigPath(config, oc.mapping)));
  }
  if (c.eventRules) eventRules.set(c.id, loadEventRulesFile(resolveConfigPath(config, c.eventRules)));
}

const registry = createMetricsRegistry('mapper');
const metrics = createPipelineMetrics(registry);
const connections = new Map(config.connections.map((c) => [c.id, c]));
// Only for message events whose body carries no message text (its layout is undocumented).
const fieldNationClients = new Map(
  config.connections.map((c) => [c.id, new FieldNationClient({ environment: c.fieldnation.environment, credentials: c.fieldnation.auth, rateLimit: { requestsPerSecond: c.fieldnation.requestsPerSecond } })]),
);
const connection = createWorkerConnection(env.REDIS_URL);
const prisma = createPrisma(env.DATABASE_URL, { max: Math.min(env.CONCURRENCY * 2 + 2, 40) });
const databaseReady = databaseReadiness(prisma);
const store = createStore(prisma);
const writeQueue = openQueue(fnWriteQueue, connection, env.QUEUE_PREFIX);
const sfQueue = openQueue(sfWriteQueue, connection, env.QUEUE_PREFIX);
for (const q of [writeQueue, sfQueue]) q.on('error', (err) => logger.warn({ err: { message: err.message } }, 'queue error'));

const onFinalFailure = (stage: string) => (job: { data: { connectionId: string; sfId?: string; workOrderId?: number }; queueName: string; id?: string }, err: Error) =>
  store.recordStage({ connectionId: job.data.connectionId, sfId: job.data.sfId, workOrderId: job.data.workOrderId, stage, outcome: 'failed', queue: job.queueName, jobId: job.id, message: err.message });

const mapWorker = startWorker(
  mapQueue,
  { 'map-record': mapRecord },
  { connections, mappings, store, fnWriteQueue: writeQueue, redis: connection, prefix: env.QUEUE_PREFIX },
  { connection, prefix: env.QUEUE_PREFIX, logger, concurrency: env.CONCURRENCY, onFinalFailure: onFinalFailure('mapped'), onDependencyWaitOver: recordDependencyWait(store) },
);
const eventWorker = startWorker(
  fnEventQueue,
  { 'fn-event': handleFieldNationEvent },
  {
    connections,
    eventRules,
    store,
    sfWriteQueue: sfQueue,
    listMessages: (connectionId: string, workOrderId: number) => fieldNationClients.get(connectionId)!.listMessages(workOrderId),
  },
  { connection, prefix: env.QUEUE_PREFIX, logger, concurrency: env.CONCURRENCY, onFinalFailure: onFinalFailure('event'), onDependencyWaitOver: recordDependencyWait(store) },
);
observeWorker(mapWorker, metrics);
observeWorker(eventWorker, metrics);

// Retention runs here, in one app only: every mapper replica upserts the same scheduler (one key),
// so the clean-up runs once per period whatever the number of replicas.
const RETENTION_SCHEDULER = 'retention';
const maintenance = openQueue(maintenanceQueue, connection, env.QUEUE_PREFIX);
maintenance.on('error', (err) => logger.warn({ err: { message: err.message } }, 'queue error'));
if (config.retention.enabled) {
  await maintenance.upsertJobScheduler(RETENTION_SCHEDULER, { pattern: config.retention.every }, { name: 'retention-sweep', data: {} });
} else {
  await maintenance.removeJobScheduler(RETENTION_SCHEDULER);
}
const retentionWorker = startWorker(
  maintenanceQueue,
  { 'retention-sweep': retentionSweep },
  { prisma, retention: config.retention },
  { connection, prefix: env.QUEUE_PREFIX, logger, concurrency: 1 },
);
observeWorker(retentionWorker, metrics);

const ops = await startOpsServer({
  port: env.OPS_PORT,
  host: env.OPS_HOST,
  registry,
  ready: async () => connection.status === 'ready' && mapWorker.isRunning() && eventWorker.isRunning() && (await databaseReady()),
  live: () => mapWorker.isRunning() && eventWorker.isRunning(),
});
logger.info({ opsPort: ops.port, mappings: [...mappings.keys()] }, 'mapper started');

const shutdown = createShutdown(logger, env.SHUTDOWN_TIMEOUT_MS);
shutdown.add('http', () => ops.close());
shutdown.add('workers', () => Promise.all([mapWorker.close(), eventWorker.close(), retentionWorker.close()]));
shutdown.add('queues', () => Promise.all([writeQueue.close(), sfQueue.close(), maintenance.close()]));
shutdown.add('prisma', () => prisma.$disconnect());
shutdown.add('redis', () => connection.quit());
shutdown.onSignals();
