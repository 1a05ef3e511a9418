// The whole broker against both simulators: the demo, the end-to-end tests, the benchmark and the
// chaos run all start it through here. Simulators run in this process; every broker app is a child
// process talking real HTTP, real Redis and real PostgreSQL.
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { FN_WEBHOOK_EVENTS } from '@broker/fieldnation';
import { loadEventRulesFile } from '@broker/mapping';
import { createLogger, type Logger } from '@broker/runtime';
import { createPrisma, createStore, type Correlation, type PrismaClient, type Store } from '@broker/store';
import { freePort } from '../../libs/testing/src/free-port';
import { startFieldNationSim, type FieldNationSim, type FieldNationSimOptions } from '../../apps/fieldnation-sim/src/index';
import { startSalesforceSim, type SalesforceSim, type SalesforceSimOptions } from '../../apps/salesforce-sim/src/index';
import { APPS, ensureBundles, root, startApp, stopApp, waitReady, type AppName, type AppProcess } from './app-processes';

export const WORKER_APPS: AppName[] = ['salesforce-fetcher', 'mapper', 'fieldnation-writer', 'salesforce-writer'];

/** `caseObject` for a Case sent by its checkbox and published after create, with no write-back. */
export const PUBLISHED_CASE = 'Case: { mapping: MAPPING, trigger: "Send_to_Field_Nation__c = true", afterCreate: { publish: true } }';

/** A dispatcher's Case the demo mapping takes, checkbox set; `fields` add to or replace these. */
export function createDispatchCase(sf: SalesforceSim, subject: string, fields: Record<string, unknown> = {}): string {
  return sf.createRecord(
    'Case',
    {
      Subject: subject,
      AccountId: sf.ref('acme'),
      ContactId: sf.ref('wile'),
      Priority: 'High',
      Preferred_Service_Date__c: new Date(Date.now() + 86_400_000).toISOString(),
      Work_Type__c: 'Installation',
      Send_to_Field_Nation__c: true,
      ...fields,
    },
    { as: 'dispatcher@example.com' },
  );
}

export interface HarnessOptions {
  /** Fixed ports (the demo); default: free ports. */
  ports?: Partial<Record<AppName | 'ingressOps' | 'salesforceSim' | 'fieldnationSim', number>>;
  /** PostgreSQL database URL to use as is; default: a fresh database created for this run. */
  databaseUrl?: string;
  redisUrl?: string;
  queuePrefix?: string;
  /** Text appended under the demo connection in the generated config (YAML, 4-space indented). */
  connectionExtra?: string;
  /**
   * Keep the connection's scheduled reconciliation sweeps (the demo does). Off by default: a sweep
   * that fires mid-test spends API calls the test counts. Sweeps queued by hand still run.
   */
  scheduledReconciliation?: boolean;
  /** The demo connection's `salesforce.timeouts` (default: the config's, 10 s connect / 60 s whole call). */
  salesforceTimeouts?: { connectMs: number; requestMs: number };
  /** Replace keys of the demo connection's objects.Case entry (YAML flow map), e.g. `writeBack: {}`. */
  caseObject?: string;
  /** Webhook events subscribed besides those the event rules use (e.g. `workorder.provider_upload` for files). */
  extraWebhookEvents?: string[];
  /** The demo connection's event rules file instead of config/mappings/case-events.yaml (absolute, or relative to config/). */
  eventRules?: string;
  /** More entries under the demo connection's `objects:` (YAML, 6-space indented); `mappings/` paths are config/mappings. */
  extraObjects?: string;
  /**
   * `database`: the generated config (secret defaults moved into the environment, mappings copied
   * beside it) is stored as configuration version 1 and every app runs with BROKER_CONFIG_SOURCE=database,
   * so a version saved later (the dashboard's setup pages) applies without a restart. Default `file`.
   */
  configSource?: 'file' | 'database';
  apps?: AppName[];
  bundled?: boolean;
  echo?: boolean;
  salesforceSim?: SalesforceSimOptions;
  fieldnationSim?: FieldNationSimOptions;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

export interface Harness {
  sf: SalesforceSim;
  fn: FieldNationSim;
  apps: Map<AppName, AppProcess>;
  ingressUrl: string;
  /** The demo connection's Outbound Message endpoint, path token included (what Salesforce is given). */
  outboundUrl: string;
  /** The ingress's ops listener (/metrics is served there, not on the public port). */
  ingressOpsUrl: string;
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  configFile: string;
  prisma: PrismaClient;
  store: Store;
  env: NodeJS.ProcessEnv;
  restart(name: AppName, signal?: NodeJS.Signals): Promise<void>;
  /** The demo connection's correlation of a Salesforce record once it is synced, else undefined. */
  synced(sfId: string): Promise<Correlation | undefined>;
  waitForSynced(sfId: string, timeoutMs?: number): Promise<Correlation>;
  waitFor<T>(
    what: string,
    check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
    timeoutMs?: number,
  ): Promise<T>;
  stop(): Promise<void>;
}

export { freePort };

/** Delete every Redis key under a queue prefix (a run's queues). */
export async function deleteQueueKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
}

/** Drop the database if it exists (the demo starts from nothing, like its in-memory simulators). */
export async function dropDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = url.pathname.slice(1).replace(/"/g, '');
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Create (if needed) and migrate the database, the way operators do: `prisma migrate deploy`. */
export async function prepareDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = url.pathname.slice(1);
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!exists.rowCount) await client.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
  } finally {
    await client.end();
  }
  const { execFileSync } = await import('node:child_process');
  execFileSync(path.join(root, 'node_modules/.bin/prisma'), ['migrate', 'deploy'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl, CHECKPOINT_DISABLE: '1' },
    stdio: 'pipe',
  });
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  for (const key of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy']) delete process.env[key];
  const logger = options.logger ?? createLogger({ service: 'harness', level: process.env.LOG_LEVEL ?? 'warn' });
  const simLogger = createLogger({ service: 'sim', level: process.env.SIM_LOG_LEVEL ?? 'warn' });
  const port = async (key: AppName | 'salesforceSim' | 'fieldnationSim') => options.ports?.[key] ?? freePort();

  const redisUrl = options.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const queuePrefix = options.queuePrefix ?? `e2e${Date.now().toString(36)}${Math.random().toString(36).slice(2, 5)}`;
  let databaseUrl = options.databaseUrl;
  let dropDatabase: (() => Promise<void>) | undefined;
  if (!databaseUrl) {
    const { createTestDatabase, prepareTemplateDatabase } = await import('@broker/testing');
    // Outside vitest (bench, chaos, demo) nothing else has prepared the template on a clean machine.
    await prepareTemplateDatabase();
    const db = await createTestDatabase('e2e');
    databaseUrl = db.url;
    dropDatabase = () => db.drop();
  }

  const ingressPort = await port('ingress');
  const ingressUrl = `http://127.0.0.1:${ingressPort}`;
  const ingressOpsPort = options.ports?.ingressOps ?? (await freePort());
  // A fresh path token per run, as `broker salesforce path-token` makes one: the endpoint needs it.
  const pathToken = options.env?.SF_OM_PATH_TOKEN ?? process.env.SF_OM_PATH_TOKEN ?? randomBytes(24).toString('base64url');
  const outboundUrl = `${ingressUrl}/salesforce/outbound/demo/${pathToken}`;
  const sf = await startSalesforceSim({ port: await port('salesforceSim'), logger: simLogger, outboundUrl, ...options.salesforceSim });
  const fn = await startFieldNationSim({
    port: await port('fieldnationSim'),
    logger: simLogger,
    rateLimit: false,
    ...options.fieldnationSim,
  });
  // Subscribed as `broker fieldnation webhook` subscribes a connection: the events its rules use.
  const rules = loadEventRulesFile(path.join(root, 'config/mappings/case-events.yaml'));
  const webhookSecret = options.env?.FN_WEBHOOK_SECRET ?? process.env.FN_WEBHOOK_SECRET ?? '5d1f0a3c-7b2e-4c8d-9a6f-1e2b3c4d5e6f';
  fn.registerWebhook({
    url: `${ingressUrl}/fieldnation/webhooks/demo`,
    secret: webhookSecret,
    events: FN_WEBHOOK_EVENTS.filter((e) => rules.listensTo(e) || options.extraWebhookEvents?.includes(e)),
  });

  // The demo connection, pointed at these simulators.
  let configText = readFileSync(path.join(root, 'config/demo.yaml'), 'utf8')
    .replace(/mapping: mappings\//g, `mapping: ${path.join(root, 'config/mappings')}/`)
    .replace(/eventRules: mappings\//g, `eventRules: ${path.join(root, 'config/mappings')}/`);
  if (options.caseObject) {
    const entry = options.caseObject.replace('MAPPING', path.join(root, 'config/mappings/case-to-work-order.yaml'));
    configText = configText.replace(/\n      Case:\n[\s\S]*?(\n      CaseComment:)/, `\n      ${entry}$1`);
  }
  if (options.eventRules) {
    configText = configText.replace(/eventRules: \S+/, `eventRules: ${path.resolve(root, 'config', options.eventRules)}`);
  }
  if (options.extraObjects) {
    const extra = options.extraObjects.replace(/(mapping|eventRules): mappings\//g, `$1: ${path.join(root, 'config/mappings')}/`);
    configText = configText.replace(/\n    objects:\n/, (m) => `${m}${extra.replace(/\n?$/, '\n')}`);
  }
  if (options.salesforceTimeouts) {
    const { connectMs, requestMs } = options.salesforceTimeouts;
    configText = configText.replace(
      /\n    salesforce:\n/,
      (m) => `${m}      timeouts: { connectMs: ${connectMs}, requestMs: ${requestMs} }\n`,
    );
  }
  if (options.connectionExtra) configText += options.connectionExtra;
  if (!options.scheduledReconciliation) configText += '    reconciliation: { enabled: false }\n';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'broker-'));
  const configFile = path.join(dir, 'broker.yaml');
  const secretDefaults: Record<string, string> = {};
  if (options.configSource === 'database') {
    // A stored version names its files relatively and holds every secret as a bare ${NAME}.
    cpSync(path.join(root, 'config/mappings'), path.join(dir, 'mappings'), { recursive: true });
    configText = configText
      .replaceAll(`${path.join(root, 'config/mappings')}/`, 'mappings/')
      .replace(
        /\b(password|securityToken|clientSecret|webhookSecret): \$\{(\w+):-([^}]*)\}/g,
        (_m, key: string, name: string, value: string) => {
          secretDefaults[name] = process.env[name] ?? value;
          return `${key}: \${${name}}`;
        },
      );
  }
  writeFileSync(configFile, configText);

  const env: NodeJS.ProcessEnv = {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.BROKER_LOG_LEVEL ?? 'warn',
    REDIS_URL: redisUrl,
    DATABASE_URL: databaseUrl,
    QUEUE_PREFIX: queuePrefix,
    BROKER_CONFIG: configFile,
    SF_LOGIN_URL: sf.url,
    FN_BASE_URL: fn.url,
    PUBLIC_URL: ingressUrl,
    SF_OM_PATH_TOKEN: pathToken,
    // The simulator's Outbound Messages send ten fields (comment bodies among them), not Id only.
    OUTBOUND_MAX_BODY_BYTES: String(1024 * 1024),
    SHUTDOWN_TIMEOUT_MS: '10000',
    DASHBOARD_INSECURE: 'true',
    ...secretDefaults,
    ...options.env,
  };

  const prisma = createPrisma(databaseUrl, { max: 5 });
  const store = createStore(prisma);
  if (options.configSource === 'database') {
    const { createConfigStore } = await import('@broker/config-store');
    await createConfigStore(prisma).importFile(configFile, {
      author: 'harness',
      message: 'the demo connection',
      validate: { env: { ...process.env, ...env } },
    });
    delete env.BROKER_CONFIG;
    env.BROKER_CONFIG_SOURCE = 'database';
  }
  const apps = new Map<AppName, AppProcess>();
  const names = options.apps ?? (['ingress', ...WORKER_APPS] as AppName[]);
  if (options.bundled) ensureBundles(names);
  const ports = new Map<AppName, number>();
  for (const name of names) ports.set(name, name === 'ingress' ? ingressPort : await port(name));
  const launch = (name: AppName) => {
    const app = startApp(name, {
      env: name === 'ingress' ? { ...env, OPS_PORT: String(ingressOpsPort) } : env,
      port: ports.get(name),
      bundled: options.bundled,
      echo: options.echo,
    });
    apps.set(name, app);
    return app;
  };
  try {
    await Promise.all(names.map((n) => waitReady(launch(n), 60_000)));
  } catch (err) {
    for (const a of apps.values()) await stopApp(a, 'SIGKILL');
    await sf.close();
    await fn.close();
    throw err;
  }
  logger.info({ ingressUrl, sf: sf.url, fn: fn.url, queuePrefix }, 'broker harness ready');

  let stopped = false;
  const harness: Harness = {
    sf,
    fn,
    apps,
    ingressUrl,
    outboundUrl,
    ingressOpsUrl: `http://127.0.0.1:${ingressOpsPort}`,
    databaseUrl,
    redisUrl,
    queuePrefix,
    configFile,
    prisma,
    store,
    env,
    async restart(name, signal = 'SIGTERM') {
      const app = apps.get(name);
      if (app) await stopApp(app, signal);
      await waitReady(launch(name), 60_000);
    },
    async synced(sfId) {
      const row = await store.getCorrelation({ connectionId: 'demo', sfId });
      return row?.state === 'synced' ? row : undefined;
    },
    waitForSynced(sfId, timeoutMs) {
      return harness.waitFor(`${sfId} synced`, () => harness.synced(sfId), timeoutMs);
    },
    async waitFor(what, check, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last: unknown;
      while (Date.now() < deadline) {
        try {
          const v = await check();
          if (v) return v as never;
          last = v;
        } catch (err) {
          last = err;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`,
      );
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const codes = await Promise.all([...apps.values()].map(async (a) => [a, await stopApp(a, 'SIGTERM', 15_000)] as const));
      await sf.close();
      await fn.close();
      await prisma.$disconnect();
      // Remove this run's queues from Redis.
      const redis = new Redis(redisUrl);
      await deleteQueueKeys(redis, queuePrefix);
      redis.disconnect();
      await dropDatabase?.();
      // Every app must end a SIGTERM with a clean shutdown (exit 0); a crash earlier shows here too.
      const bad = codes.filter(([, code]) => code !== null && code !== 0);
      if (bad.length) {
        throw new Error(
          `apps exited non-zero: ${bad.map(([a, code]) => `${a.name} (${code}): ${a.output.slice(-5).join(' | ')}`).join('; ')}`,
        );
      }
    },
  };
  return harness;
}

export { APPS };
