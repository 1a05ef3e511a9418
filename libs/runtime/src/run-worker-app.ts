// The one start-up of a worker app (salesforce-fetcher, mapper, fieldnation-writer,
// salesforce-writer): an app's main.ts only says what it consumes and produces. Kept out of the
// runtime's index because it loads the config, the mappings and the store (Prisma).
//
// The configuration is live in database mode (BROKER_CONFIG_SOURCE=database): a new version, announced
// on Redis or found by the periodic check, is compiled beside the one in force and swapped in whole
// between jobs (a job reads the version once, as it starts); one that fails to load here is logged
// and the one in force kept. What the clients were built from at start-up waits for a restart
// (settingsNeedingRestart). In file mode the file is read once, at start-up.
import { z } from 'zod';
import type { Job, Worker, WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { ConfigError, configSourceOf, settingsNeedingRestart, type ConnectionConfig, type LoadedConfig } from '@broker/config';
import {
  activeConfigOf,
  compileConfigEventRules,
  compileConfigMappings,
  loadActiveConfig,
  watchConfigVersions,
  type ActiveConfig,
  type ConfigWatch,
} from '@broker/config-store';
import type { JobScheduler, QueueContract, QueueOf, Stage } from '@broker/contracts';
import { MappingError, type CompiledEventRules, type CompiledMapping, type NameCatalogues, type NameLookup } from '@broker/mapping';
import { createPrisma, createStore, databaseReadiness, type PrismaClient, type Store } from '@broker/store';
import type { JobConfig, JobContext } from './job-context';
import { loadEnv } from './env';
import { createLogger, type Logger } from './logger';
import { mappingCatalogues } from './mapping-catalogues';
import { createMetricsRegistry, metricsIn } from './metrics';
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

/** One configuration version as a worker app runs it: compiled once, swapped whole. */
export interface AppConfig extends JobConfig {
  /** What timeline rows record: the stored version ("7") or "file:<hash>". */
  label: string;
  /** The stored version (database mode), null for a file. */
  version: number | null;
  config: LoadedConfig;
  connections: ReadonlyMap<string, ConnectionConfig>;
  /** Compiled mappings by `${connectionId}/${sObject}` (compiled on first use, once per version). */
  mappings(): Map<string, CompiledMapping>;
  /** Compiled event rules by connection id. */
  eventRules(): Map<string, CompiledEventRules>;
}

/** `catalogues`: the Field Nation names the version's mappings use, by connection (fetched before: compiling is synchronous). */
function appConfigOf(active: ActiveConfig, catalogues: ReadonlyMap<string, NameCatalogues>): AppConfig & { raw: unknown } {
  let mappings: Map<string, CompiledMapping> | undefined;
  let eventRules: Map<string, CompiledEventRules> | undefined;
  return {
    label: active.label,
    version: active.version,
    config: active.config,
    raw: active.raw,
    connections: new Map(active.config.connections.map((c) => [c.id, c])),
    mappings: () => (mappings ??= compileConfigMappings(active.config, catalogues)),
    eventRules: () => (eventRules ??= compileConfigEventRules(active.config)),
  };
}

/** What `setup` gets: everything opened for the app, closed by its shutdown. */
export interface WorkerAppContext {
  env: WorkerEnv;
  /**
   * The configuration at start-up: what clients are built from (their settings wait for a restart).
   * Per-job settings come from `ctx.connection()` and from deps given as `(config) => deps`.
   */
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
  /** The start-up version's compiled mappings by `${connectionId}/${sObject}`: a broken one stops the app (exit 78) naming file and entry. */
  mappings(): Map<string, CompiledMapping>;
  /** The start-up version's compiled event rules by connection id, and an object's own by `${connectionId}/${sObject}`. */
  eventRules(): Map<string, CompiledEventRules>;
  /** The configuration version in force now (database mode: the latest one this app accepted). */
  current(): AppConfig;
  /**
   * Look for a stored version newer than the one in force and apply it now; true when one was (a job
   * naming a connection or object the version in force lacks may have been queued under it). False
   * in file mode.
   */
  refreshConfig(): Promise<boolean>;
  /** While a version announced since is being applied: its promise (jobs wait for it before they start). */
  configApplying(): Promise<void> | undefined;
  /** The producer side of a queue this app writes to (closed at shutdown, after the workers). */
  produce<Q extends QueueContract>(contract: Q): QueueOf<Q>;
}

export interface ConsumeOptions {
  /** Default: the CONCURRENCY env. */
  concurrency?: number;
  /** The stage a job that fails for good is recorded under. */
  failedStage?: Stage | ((job: Job) => Stage);
  worker?: Partial<WorkerOptions>;
  /** Awaited before a job fails for good (see StartWorkerOptions.finalFailure): the record's failed outcome. */
  finalFailure?: (job: Job, err: Error) => Promise<void>;
}

/** One consumed queue: its handlers and their deps. */
export interface Consumer {
  readonly queue: string;
  start(app: WorkerAppContext): Worker;
  /** Build the deps of a new version before it is swapped in (a throw refuses the version). */
  prepare(config: AppConfig): void;
}

const PER_VERSION = Symbol('deps per configuration version');

/** Deps built from a configuration version (see perVersion). */
export interface PerVersion<Deps> {
  readonly [PER_VERSION]: (config: AppConfig) => Deps;
}

/**
 * Deps that depend on the configuration (mappings, rules, settings): built once per version, and each
 * job gets those of the version it started with (database mode swaps versions between jobs).
 */
export function perVersion<Deps>(build: (config: AppConfig) => Deps): PerVersion<Deps> {
  return { [PER_VERSION]: build };
}

const isPerVersion = <Deps>(deps: Deps | PerVersion<Deps>): deps is PerVersion<Deps> =>
  typeof deps === 'object' && deps !== null && PER_VERSION in deps;

/**
 * Declare a consumed queue (startWorker with the app's connection, store, metrics and dependency
 * waits). Deps that follow the configuration are given as `perVersion((config) => deps)`.
 */
export function consume<Q extends QueueContract, Deps>(
  contract: Q,
  handlers: Handlers<Q, Deps>,
  deps: Deps | PerVersion<Deps>,
  options: ConsumeOptions = {},
): Consumer {
  const built = new WeakMap<AppConfig, Deps>();
  const depsFor = isPerVersion(deps)
    ? (config: AppConfig): Deps => {
        let d = built.get(config);
        if (d === undefined) built.set(config, (d = deps[PER_VERSION](config)));
        return d;
      }
    : undefined;
  type Handler = (job: Job, deps: Deps, ctx: JobContext) => Promise<unknown>;
  return {
    queue: contract.name,
    prepare: (config) => void depsFor?.(config),
    start: (app) =>
      startWorker(
        contract,
        depsFor
          ? (Object.fromEntries(
              Object.entries(handlers as unknown as Record<string, Handler>).map(([name, handler]) => [
                name,
                // ctx.config is the AppConfig the worker pinned for this job (options.config below).
                (job: Job, _deps: Deps, ctx: JobContext) =>
                  handler(job, depsFor((ctx.config as AppConfig | undefined) ?? app.current()), ctx),
              ]),
            ) as unknown as Handlers<Q, Deps>)
          : handlers,
        depsFor ? (undefined as Deps) : (deps as Deps),
        {
          connection: app.redis,
          prefix: app.prefix,
          logger: app.logger,
          concurrency: options.concurrency ?? app.env.CONCURRENCY,
          connections: app.connections,
          timeline: app.store,
          metrics: app.metrics,
          failedStage: options.failedStage,
          finalFailure: options.finalFailure,
          onDependencyWaitOver: recordDependencyWait(app.store),
          worker: options.worker,
          config: app.current,
          refreshConfig: app.refreshConfig,
          configApplying: app.configApplying,
        },
      ),
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
  /** As a function: re-synced when a new configuration version is applied. */
  schedules?: Schedules[] | ((config: AppConfig) => Schedules[]);
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
  /**
   * Where the names in a connection's mappings (`typeOfWork: "Point of Sale"`) are looked up: apps
   * that compile mappings pass libs/fieldnation's connectionCatalogueLookup. Asked only for names.
   */
  mappingNames?: (connection: ConnectionConfig) => NameLookup;
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
  const source = configSourceOf(env);
  const registry = createMetricsRegistry(definition.service);
  const metrics = createPipelineMetrics(registry);

  const redis = createWorkerConnection(env.REDIS_URL);
  shutdown.add('redis', () => redis.quit().catch(() => redis.disconnect()));
  const prisma = createPrisma(env.DATABASE_URL, { max: (definition.databasePool ?? ((n) => Math.min(n + 2, 30)))(env.CONCURRENCY) });
  shutdown.add('prisma', () => prisma.$disconnect());
  const store = createStore(prisma);
  const producers: QueueOf<QueueContract>[] = [];
  shutdown.add('queues', () => Promise.all(producers.map((q) => q.close())));

  const startupActive = await loadActiveConfig(source, { prisma });
  // Names in mappings resolve against Field Nation once per version, here (mappings() compiles synchronously).
  const startup = appConfigOf(startupActive, await mappingCatalogues(startupActive.config, definition.mappingNames));
  const config = startup.config;
  let live: AppConfig = startup;
  let watch: ConfigWatch | undefined;
  // What setup compiled at start-up is compiled for every new version before it is swapped in.
  const used = { mappings: false, eventRules: false };
  const perConnection = <T>(make: (c: ConnectionConfig) => T) => new Map(config.connections.map((c) => [c.id, make(c)]));

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
    connections: startup.connections,
    perConnection,
    mappings: () => ((used.mappings = true), startup.mappings()),
    eventRules: () => ((used.eventRules = true), startup.eventRules()),
    current: () => live,
    refreshConfig: async () => {
      if (!watch) return false;
      const before = live;
      await watch.check();
      return live !== before;
    },
    configApplying: () => watch?.applying(),
    produce: (contract) => {
      const queue = openQueue(contract, redis, env.QUEUE_PREFIX);
      queue.on('error', (err) => logger.warn({ err: { message: err.message }, queue: contract.name }, 'queue error'));
      producers.push(queue as unknown as QueueOf<QueueContract>);
      return queue;
    },
  };

  const plan = await definition.setup(app);
  for (const c of plan.consumes) c.prepare(startup);
  const schedulesOf = (v: AppConfig) => (typeof plan.schedules === 'function' ? plan.schedules(v) : (plan.schedules ?? []));
  for (const s of schedulesOf(startup)) await syncSchedulers(app.produce(s.queue), s.schedulers);

  const gauges = metricsIn(registry);
  const versionGauge = gauges.gauge('broker_config_version', [], 'The configuration version in force (0: a file, BROKER_CONFIG)');
  const refusedCounter = gauges.counter(
    'broker_config_versions_refused_total',
    [],
    'Configuration versions this process failed to load (it kept the one in force)',
  );
  versionGauge.set(startup.version ?? 0);

  if (source.mode === 'database') {
    const versions = watchConfigVersions({
      prisma,
      redis,
      prefix: env.QUEUE_PREFIX,
      intervalMs: env.BROKER_CONFIG_CHECK_SECONDS * 1000,
      current: () => live.version,
      logger,
      apply: async (stored) => {
        let next: ReturnType<typeof appConfigOf>;
        try {
          const active = activeConfigOf(stored);
          next = appConfigOf(active, await mappingCatalogues(active.config, definition.mappingNames));
          if (used.mappings) next.mappings();
          if (used.eventRules) next.eventRules();
          for (const c of plan.consumes) c.prepare(next);
        } catch (err) {
          refusedCounter.inc();
          logger.error(
            { configVersion: stored.version, inForce: live.label, err: { message: (err as Error).message } },
            `configuration version ${stored.version} REFUSED by ${definition.service}: it does not load here; version ${live.label} stays in force`,
          );
          throw err;
        }
        const previous = live;
        live = next; // the swap: jobs that started before keep the version they pinned
        versionGauge.set(next.version ?? 0);
        const restart = settingsNeedingRestart(startup.raw, next.raw);
        logger.info(
          { configVersion: next.label, previous: previous.label, author: stored.createdBy },
          `configuration version ${next.label} in force`,
        );
        if (restart.length) {
          logger.warn(
            { configVersion: next.label, restartNeeded: restart },
            `configuration version ${next.label} changes settings that apply only after a restart of ${definition.service}; until then they keep their start-up values`,
          );
        }
        if (typeof plan.schedules === 'function') {
          try {
            for (const s of schedulesOf(next)) await syncSchedulers(app.produce(s.queue), s.schedulers);
          } catch (err) {
            logger.warn(
              { configVersion: next.label, err: { message: (err as Error).message } },
              'job schedulers not updated; the next version or restart updates them',
            );
          }
        }
      },
    });
    watch = versions;
    // Before the workers close: no version is applied while jobs drain.
    shutdown.add('http', () => versions.close(), 'config watch');
  }

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
    {
      opsPort: ops.port,
      concurrency: env.CONCURRENCY,
      queues: plan.consumes.map((c) => c.queue),
      configSource: source.mode,
      configVersion: startup.label,
      ...plan.started,
    },
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
