#!/usr/bin/env node
// The operator's command line: npm run broker -- <command>. Env: BROKER_CONFIG, DATABASE_URL,
// REDIS_URL, QUEUE_PREFIX (the same variables the apps read); `config import` validates with this
// environment's variables, as the apps will resolve them.
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { allQueues, sfFetchQueue, sfReconcileQueue, type QueueOf } from '@broker/contracts';
import { ConfigError } from '@broker/config';
import { createWorkerConnection, openQueue } from '@broker/runtime';
import { createPrisma, createStore, type Store } from '@broker/store';
import { loadCliConfig, parseCliEnv, requireConfigPath, requireDatabaseUrl, type CliEnv } from './cli-env';
import { CliError, processIo, type CliIo } from './cli-io';
import { createConfigStore, publishConfigVersion, type ConfigStore } from '@broker/config-store';
import {
  configExportCommand,
  configHistoryCommand,
  configImportCommand,
  configRollbackCommand,
  type SaveOptions,
} from './config-store.command';
import { configValidateCommand } from './config-validate.command';
import { doctorCommand } from './doctor.command';
import { fieldnationLookupCommand, LOOKUP_KINDS } from './fieldnation-lookup.command';
import { fieldnationWebhookCommand, loadWebhookConfig } from './fieldnation-webhook.command';
import { mappingPreviewCommand } from './mapping-preview.command';
import { mappingTargetsCommand } from './mapping-targets.command';
import { parseSince, replayCommand } from './replay.command';
import { reconcileCommand } from './reconcile.command';
import { resyncCommand } from './resync.command';
import { pathTokenCommand, salesforceMetadataCommand } from './salesforce-metadata.command';
import { timelineCommand } from './timeline.command';

const io: CliIo = processIo();

/** Run one command; user errors print one clear line and set the exit code, bugs keep their stack. */
async function run(fn: (env: CliEnv) => Promise<number> | number): Promise<void> {
  try {
    process.exitCode = await fn(parseCliEnv());
  } catch (err) {
    if (err instanceof CliError) {
      io.err(`error: ${err.message}`);
      process.exitCode = err.exitCode;
    } else if (err instanceof ConfigError) {
      io.err(`error: ${err.message}`);
      process.exitCode = 78; // EX_CONFIG, as the apps exit with it
    } else {
      throw err;
    }
  }
}

async function withStore<T>(env: CliEnv, fn: (store: Store) => Promise<T>): Promise<T> {
  const prisma = createPrisma(requireDatabaseUrl(env), { max: 2 });
  try {
    return await fn(createStore(prisma));
  } finally {
    await prisma.$disconnect();
  }
}

async function withRedis<T>(env: CliEnv, fn: (connection: ReturnType<typeof createWorkerConnection>) => Promise<T>): Promise<T> {
  // Fail instead of waiting forever when Redis is unreachable: a CLI must answer.
  const connection = createWorkerConnection(env.REDIS_URL, { maxRetriesPerRequest: 3, retryStrategy: (n) => (n > 5 ? null : n * 200) });
  connection.on('error', () => undefined);
  try {
    return await fn(connection);
  } finally {
    await connection.quit().catch(() => connection.disconnect());
  }
}

/** The stored versions; a save is announced on Redis so that the workers apply it at once. */
async function withConfigStore<T>(env: CliEnv, fn: (store: ConfigStore) => Promise<T>): Promise<T> {
  const prisma = createPrisma(requireDatabaseUrl(env), { max: 2 });
  const redis = createWorkerConnection(env.REDIS_URL, { maxRetriesPerRequest: 1, retryStrategy: (n) => (n > 2 ? null : n * 200) });
  redis.on('error', () => undefined);
  try {
    return await fn(createConfigStore(prisma, { notify: (v) => publishConfigVersion(redis, env.QUEUE_PREFIX, v) }));
  } finally {
    await prisma.$disconnect();
    redis.disconnect();
  }
}

const positiveInt = (v: string): number => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError('a positive whole number');
  return Number(v);
};

const program = new Command().name('broker').description('Operate the Salesforce ⇄ Field Nation integration broker').showHelpAfterError();

const config = program.command('config').description('connection config');
config
  .command('validate')
  .description(
    "validate the connection config and its mappings as the apps will at start-up: targets against Field Nation's work order, expression reads, names resolved on Field Nation",
  )
  .argument('[file]', 'config file (default: $BROKER_CONFIG)')
  .action((file?: string) => run((env) => configValidateCommand(requireConfigPath(env, file), io)));
const saveOptions = (c: Command) =>
  c
    .option('--author <name>', 'who saves it (default: cli:<login>)')
    .option('-m, --message <text>', 'why')
    .option('--allow-unset-env', 'validate without the variables this machine lacks (the settings they fill are not checked)');
saveOptions(
  config
    .command('import')
    .description(
      'store a config file and the mapping/event-rule files it names as a new version in PostgreSQL (BROKER_CONFIG_SOURCE=database)',
    )
    .argument('<file>', 'config file'),
).action((file: string, opts: SaveOptions) => run((env) => withConfigStore(env, (store) => configImportCommand(file, store, opts, io))));
config
  .command('export')
  .description('print a stored version as YAML, or write it and its files to a folder (--out) for BROKER_CONFIG')
  .option('--version <n>', 'version (default: the one in force)', positiveInt)
  .option('--out <dir>', 'write broker.yaml and every file it names into this folder')
  .action((opts: { version?: number; out?: string }) =>
    run((env) => withConfigStore(env, (store) => configExportCommand(store, opts, io))),
  );
config
  .command('history')
  .description('the stored versions, newest first: who, when, why')
  .option('--limit <n>', 'how many (default 20)', positiveInt)
  .action((opts: { limit?: number }) => run((env) => withConfigStore(env, (store) => configHistoryCommand(store, opts, io))));
saveOptions(
  config
    .command('rollback')
    .description('store a new version with the content of an older one (the workers apply it between jobs)')
    .argument('<version>', 'the version to restore', positiveInt),
).action((version: number, opts: SaveOptions) =>
  run((env) => withConfigStore(env, (store) => configRollbackCommand(version, store, opts, io))),
);

const mapping = program.command('mapping').description('mapping files');
mapping
  .command('preview')
  .description('run a mapping over a sample record and print the work-order payload (or every error)')
  .argument('<mapping>', 'mapping file')
  .argument('<record.json>', 'a Salesforce record as JSON (as the REST API returns it)')
  .action((mappingFile: string, recordFile: string) => run(() => mappingPreviewCommand(mappingFile, recordFile, io)));
mapping
  .command('targets')
  .description("the work-order paths a mapping may write, their types and values (from Field Nation's published definition)")
  .option('--search <text>', 'only paths containing this')
  .action((opts: { search?: string }) => run(() => mappingTargetsCommand(opts, io)));

program
  .command('timeline')
  .description("a record's journey by Salesforce id or work order id")
  .argument('<id>', 'Salesforce id (15 or 18 characters) or work order id')
  .option('--connection <id>', 'only this connection')
  .action((id: string, opts: { connection?: string }) => run((env) => withStore(env, (store) => timelineCommand(id, store, io, opts))));

program
  .command('replay')
  .description('retry the failed jobs (dead-letter queue) of a queue')
  .addOption(new Option('--queue <queue>', 'queue name').choices(allQueues.map((q) => q.name)).makeOptionMandatory())
  .option('--since <time>', 'only jobs that failed since: an ISO date/time or a duration (30m, 6h, 2d)')
  .option('--dry-run', 'list the jobs that would be retried, change nothing')
  .action((opts: { queue: string; since?: string; dryRun?: boolean }) =>
    run((env) =>
      withRedis(env, async (connection) => {
        const contract = allQueues.find((q) => q.name === opts.queue)!;
        const queue = openQueue(contract, connection, env.QUEUE_PREFIX);
        try {
          return await replayCommand(queue, { since: opts.since ? parseSince(opts.since) : undefined, dryRun: opts.dryRun }, io);
        } finally {
          await queue.close();
        }
      }),
    ),
  );

program
  .command('resync')
  .description('read a record from Salesforce again and push it through the pipeline')
  .argument('<salesforce-id>', 'record id (15 or 18 characters)')
  .option('--connection <id>', 'connection (needed when several sync the record)')
  .option('--object <name>', 'object API name, for a record the broker has not seen yet')
  .action((sfId: string, opts: { connection?: string; object?: string }) =>
    run((env) =>
      withStore(env, (store) =>
        withRedis(env, async (connection) => {
          const fetchQueue = openQueue(sfFetchQueue, connection, env.QUEUE_PREFIX) as QueueOf<typeof sfFetchQueue>;
          try {
            return await resyncCommand(sfId, fetchQueue, store, opts, io);
          } finally {
            await fetchQueue.close();
          }
        }),
      ),
    ),
  );

const fieldnation = program.command('fieldnation').description('Field Nation set-up');
fieldnation
  .command('webhook')
  .description(
    'print the webhook each connection needs (its ingress URL and exactly the events its rules use); --apply creates or updates it on Field Nation',
  )
  .option('--connection <id>', 'only this connection')
  .option('--url <url>', 'public URL of the ingress (default: $PUBLIC_URL)')
  .option('--apply', 'create the webhook on Field Nation, or update the one with the same URL')
  .action((opts: { connection?: string; url?: string; apply?: boolean }) =>
    run(async (env) =>
      fieldnationWebhookCommand(
        // A stored version was validated when saved: only a file can lack its webhook secret.
        env.BROKER_CONFIG_SOURCE === 'database' ? await loadCliConfig(env) : loadWebhookConfig(requireConfigPath(env), io),
        { ...opts, url: opts.url ?? env.PUBLIC_URL },
        io,
      ),
    ),
  );

fieldnation
  .command('lookup')
  .description('list a Field Nation catalogue of the connection: the names (and ids) mappings may use, e.g. typeOfWork: "Point of Sale"')
  .addArgument(new Argument('<catalogue>', 'which catalogue').choices(Object.keys(LOOKUP_KINDS)))
  .option('--search <text>', 'only entries whose name contains this (any case), or with this id')
  .option('--connection <id>', 'connection (default: the only one)')
  .option('--json', 'print JSON')
  .action((what: string, opts: { search?: string; connection?: string; json?: boolean }) =>
    run(async (env) => fieldnationLookupCommand(await loadCliConfig(env), what, opts, io)),
  );

program
  .command('doctor')
  .description(
    'live read-only preflight against Salesforce and Field Nation: logins, fields, ids, webhook, API allowance; exit 1 when a check fails',
  )
  .option('--connection <id>', 'only this connection')
  .option('--url <url>', 'public URL of the ingress, which the webhook must point at (default: $PUBLIC_URL)')
  .option('--json', 'print the reports as JSON')
  .action((opts: { connection?: string; url?: string; json?: boolean }) =>
    run(async (env) => doctorCommand(await loadCliConfig(env), { ...opts, url: opts.url ?? env.PUBLIC_URL }, io)),
  );

program
  .command('reconcile')
  .description('sweep Salesforce now for records that match a trigger but never synced (dropped Outbound Messages)')
  .option('--connection <id>', 'only this connection')
  .option('--object <name>', 'only this object')
  .option('--window-hours <n>', "look back this many hours (default: the connection's reconciliation.windowHours)", (v) => Number(v))
  .action((opts: { connection?: string; object?: string; windowHours?: number }) =>
    run((env) =>
      withRedis(env, async (connection) => {
        const config = await loadCliConfig(env);
        const queue = openQueue(sfReconcileQueue, connection, env.QUEUE_PREFIX) as QueueOf<typeof sfReconcileQueue>;
        try {
          return await reconcileCommand(config, queue, opts, io);
        } finally {
          await queue.close();
        }
      }),
    ),
  );

const salesforce = program.command('salesforce').description('Salesforce-side setup');
salesforce
  .command('path-token')
  .description('print a new random Outbound Message path token (192 bits, base64url) for salesforce.pathToken')
  .action(() => run(() => pathTokenCommand(io)));
salesforce
  .command('metadata')
  .description('generate deployable Salesforce metadata: an Outbound Message and a record-triggered Flow per configured object')
  .option('--connection <id>', 'connection (default: the only one)')
  .option('--out <dir>', 'output directory (default: salesforce-metadata/<connection>)')
  .option('--endpoint <url>', 'public URL of the ingress as Salesforce reaches it (default: $PUBLIC_URL)')
  .option('--integration-user <username>', 'Salesforce username the messages are sent as (default: the connection login user)')
  .option(
    '--integration-user-id <id>',
    'id of the user the broker writes as: the Flows skip its saves (default: salesforce.integrationUserId)',
  )
  .option('--config <file>', 'config file (default: $BROKER_CONFIG, or the stored version with BROKER_CONFIG_SOURCE=database)')
  .action(
    (opts: {
      connection?: string;
      out?: string;
      endpoint?: string;
      integrationUser?: string;
      integrationUserId?: string;
      config?: string;
    }) => run(async (env) => salesforceMetadataCommand({ ...opts, config: await loadCliConfig(env, opts.config) }, io)),
  );

await program.parseAsync(process.argv);
