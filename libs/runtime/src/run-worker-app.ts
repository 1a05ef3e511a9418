// The one start-up of a worker app (salesforce-fetcher, mapper, fieldnation-writer,
// salesforce-writer): an app's main.ts only says what it consumes and produces. Kept out of the
// runtime's index because it loads the config, the mappings and the store (Prisma).
import { z } from 'zod';
import type { Job, Worker, WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { ConfigError, loadConfig, resolveConfigPath, type ConnectionConfig, type LoadedConfig } from '@broker/config';
import type { JobScheduler, QueueContract, QueueOf, Stage } from '@broker/contracts';
import { loadEventRulesFile, loadMappingFile, MappingError, type CompiledEventRules, type CompiledMapping } from '@broker/mapping';
import { createPrisma, createStore, databaseReadiness, type PrismaClient, type Store } from '@broker/store';
import { loadEnv } from './env';
import { createLogger, type Logger } from './logger';
import { createMetricsRegistry } from './metrics';
import { startOpsServer } from './ops-server';
import { createPipelineMetrics, type PipelineMetrics } from './pipeline-metrics';
import { redisRecordLocks, type RecordLocks } from './record-lock';
import { createWorkerConnection } from './redis';
import { createShutdown } from './shutdown';
import { openQueue, recordDependencyWait, startWorker, type Handlers } from './worker';
import { workerEnvSchema } from './worker-app';

/** Exit code of a bad environment or configuration (EX_CONFIG), as the ingress and loadEnv use. */
export const EXIT_CONFIG = 78;

export type WorkerEnv = z.infer<typeof workerEnvSchema>;

/** What `setup` gets: everything opened for the app, closed by its shutdown. */
export interface WorkerAppContext {
  env: WorkerEnv;
  config: LoadedConfig;
  logger: Logger;
  registry: Registry;
  metrics: PipelineMetrics;
  /** The worker connection (waits through Redis outages). */
  redis: Redis;
  prefix: string;
  prisma: PrismaClient;
  store: Store;
  /** Record locks in Redis under the queue prefix. */
  locks: RecordLocks;
  connections: ReadonlyMap<string, ConnectionConfig>;
  /** One value per configured connection (clients), by connection id. */
  perConnection<T>(make: (connection: ConnectionConfig) => T): Map<string, T>;
  /** Compiled mappings by `${connectionId}/${sObject}`: a broken one stops the app (exit 78) naming file and entry. */
  mappings(): Map<string, CompiledMapping>;
  /** Compiled event rules by connection id, and an object's own by `${connectionId}/${sObject}`. */
  eventRules(): Map<string, CompiledEventRules>;
  /** The producer side of a queue this app writes to (closed at shutdown, after the workers). */
  produce<Q extends QueueContract>(contract: Q): QueueOf<Q>;
}

export interface ConsumeOptions {
  /** Default: the CONCURRENCY env. */
  concurrency?: number;
  /** The stage a job that fails for good is recorded under. */
  failedStage?: Stage | ((job: Job) => Stage);
  worker?: Partial<WorkerOptions>;
}

/** One consumed queue: its handlers and their deps. */
export interface Consumer {
  readonly queue: string;
  start(app: WorkerAppContext): Worker;
}

/** Declare a consumed queue (startWorker with the app's connection, store, metrics and dependency waits). */
export function consume<Q extends QueueContract, Deps>(
  contract: Q,
  handlers: Handlers<Q, Deps>,
  deps: Deps,
  options: ConsumeOptions = {},
): Consumer {
  return {
    queue: contract.name,
    start: (app) =>
      startWorker(contract, handlers, deps, {
        connection: app.redis,
        prefix: app.prefix,
        logger: app.logger,
        concurrency: options.concurrency ?? app.env.CONCURRENCY,
        connections: app.connections,
        timeline: app.store,
        metrics: app.metrics,
        failedStage: options.failedStage,
        onDependencyWaitOver: recordDependencyWait(app.store),
        worker: options.worker,
      }),
  };
}

/** The job schedulers an app keeps on one queue: these are upserted, every other one on the queue removed. */
export interface Schedules {
  /** The queue they run on: every scheduler of it that is not listed is removed. */
  queue: QueueContract;
  schedulers: JobScheduler[];
}

export interface WorkerAppPlan {
  consumes: Consumer[];
  schedules?: Schedules[];
  /** Extra fields for the "started" log line. */
  started?: Record<string, unknown>;
}

export interface WorkerAppDefinition {
  service: string;
  /** Default OPS_PORT (/healthz, /readyz, /metrics). */
  opsPort: number;
  /** PostgreSQL pool size for a CONCURRENCY; default CONCURRENCY + 2, at most 30. */
  databasePool?: (concurrency: number) => number;
  setup(app: WorkerAppContext): WorkerAppPlan | Promise<WorkerAppPlan>;
}

const isConfigurationError = (err: unknown): err is Error => err instanceof ConfigError || err instanceof MappingError;

/**
 * Start a worker app: env (exit 78 naming every bad key), logger, config and mappings (exit 78 with
 * the file and entry named, as the ingress), metrics, Redis, Prisma and the store, one worker per
 * consumed queue (payload validation, dependency waits on the timeline, failures on the timeline
 * and in the metrics), the app's job schedulers, the ops server, and a shutdown in phases on
 * SIGTERM/SIGINT (exit 0, or 1 when a step failed or the deadline passed).
 */
export async function runWorkerApp(definition: WorkerAppDefinition): Promise<void> {
  const env = loadEnv(workerEnvSchema.extend({ OPS_PORT: z.coerce.number().int().min(0).max(65535).default(definition.opsPort) }));
  const logger = createLogger({ service: definition.service, level: env.LOG_LEVEL });
  const shutdown = createShutdown(logger, env.SHUTDOWN_TIMEOUT_MS);
  try {
    await start(definition, env, logger, shutdown);
  } catch (err) {
    if (!isConfigurationError(err)) throw err;
    logger.fatal(err.message);
    // Whatever was opened before the error must not keep the process alive.
    await shutdown.run('configuration error');
    process.exit(EXIT_CONFIG);
  }
  shutdown.onSignals();
}

async function start(
  definition: WorkerAppDefinition,
  env: WorkerEnv,
  logger: Logger,
  shutdown: ReturnType<typeof createShutdown>,
): Promise<void> {
  const config = loadConfig(env.BROKER_CONFIG);
  const registry = createMetricsRegistry(definition.service);
  const metrics = createPipelineMetrics(registry);
  const connections = new Map(config.connections.map((c) => [c.id, c]));
  const perConnection = <T>(make: (c: ConnectionConfig) => T) => new Map(config.connections.map((c) => [c.id, make(c)]));
  let mappings: Map<string, CompiledMapping> | undefined;
  let eventRules: Map<string, CompiledEventRules> | undefined;

  const redis = createWorkerConnection(env.REDIS_URL);
  shutdown.add('redis', () => redis.quit().catch(() => redis.disconnect()));
  const prisma = createPrisma(env.DATABASE_URL, { max: (definition.databasePool ?? ((n) => Math.min(n + 2, 30)))(env.CONCURRENCY) });
  shutdown.add('prisma', () => prisma.$disconnect());
  const store = createStore(prisma);
  const producers: QueueOf<QueueContract>[] = [];
  shutdown.add('queues', () => Promise.all(producers.map((q) => q.close())));

  const app: WorkerAppContext = {
    env,
    config,
    logger,
    registry,
    metrics,
    redis,
    prefix: env.QUEUE_PREFIX,
    prisma,
    store,
    locks: redisRecordLocks(redis, env.QUEUE_PREFIX),
    connections,
    perConnection,
    mappings: () =>
      (mappings ??= new Map(
        config.connections.flatMap((c) =>
          Object.entries(c.objects).flatMap(([object, oc]) =>
            oc.mapping ? [[`${c.id}/${object}`, loadMappingFile(resolveConfigPath(config, oc.mapping))] as const] : [],
          ),
        ),
      )),
    eventRules: () =>
      (eventRules ??= new Map(
        config.connections.flatMap((c) => [
          ...(c.eventRules ? [[c.id, loadEventRulesFile(resolveConfigPath(config, c.eventRules))] as const] : []),
          // An object's own rules, chosen by the correlated record's object (fn-event.processor.ts).
          ...Object.entries(c.objects).flatMap(([object, o]) =>
            o.eventRules ? [[`${c.id}/${object}`, loadEventRulesFile(resolveConfigPath(config, o.eventRules), { object })] as const] : [],
          ),
        ]),
      )),
    produce: (contract) => {
      const queue = openQueue(contract, redis, env.QUEUE_PREFIX);
      queue.on('error', (err) => logger.warn({ err: { message: err.message }, queue: contract.name }, 'queue error'));
      producers.push(queue as unknown as QueueOf<QueueContract>);
      return queue;
    },
  };

  const plan = await definition.setup(app);
  for (const s of plan.schedules ?? []) await syncSchedulers(app.produce(s.queue), s.schedulers);
  const workers = plan.consumes.map((c) => c.start(app));
  shutdown.add('workers', () => Promise.all(workers.map((w) => w.close())));

  const databaseReady = databaseReadiness(prisma);
  const running = () => workers.every((w) => w.isRunning());
  const ops = await startOpsServer({
    port: env.OPS_PORT,
    host: env.OPS_HOST,
    registry,
    ready: async () => redis.status === 'ready' && running() && (await databaseReady()),
    live: running,
  });
  shutdown.add('http', () => ops.close());
  logger.info(
    { opsPort: ops.port, concurrency: env.CONCURRENCY, queues: plan.consumes.map((c) => c.queue), ...plan.started },
    `${definition.service} started`,
  );
}

/**
 * Make a queue's job schedulers exactly the wanted ones. Upserting is idempotent across restarts
 * and replicas; a scheduler of a connection or object no longer configured would run for ever.
 */
async function syncSchedulers(queue: QueueOf<QueueContract>, wanted: JobScheduler[]): Promise<void> {
  const stray = wanted.find((s) => s.queue !== queue.name);
  if (stray) throw new Error(`scheduler ${stray.id} runs on ${stray.queue}, not on ${queue.name}`);
  for (const s of wanted) await queue.upsertJobScheduler(s.id, { pattern: s.pattern }, { name: s.job.name, data: s.job.data });
  const ids = new Set(wanted.map((s) => s.id));
  for (const s of await queue.getJobSchedulers()) if (!ids.has(s.key)) await queue.removeJobScheduler(s.key);
}
