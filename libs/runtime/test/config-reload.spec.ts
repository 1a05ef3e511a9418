// Database mode (BROKER_CONFIG_SOURCE=database): a worker app process, real Redis and PostgreSQL,
// picks up new configuration versions between jobs without restarting, keeps the one in force when a
// new one does not load in it, rolls back, and records on every timeline row the version it used.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { createConfigStore, publishConfigVersion } from '@broker/config-store';
import { defineQueue, enqueue } from '@broker/contracts';
import { createProducerConnection, createWorkerConnection, openQueue } from '@broker/runtime';
import { createPrisma, type PrismaClient } from '@broker/store';
import { bundleOf, createTestDatabase, redisUrl, SECRETS_ENV, type TestDatabase } from '@broker/testing';

const root = path.resolve(import.meta.dirname, '../../..');
const fixture = path.join(import.meta.dirname, 'fixtures/config-worker-app.ts');
// The fixture's queue (importing the fixture would start it here).
const reloadQueue = defineQueue(
  'test.reload',
  { work: z.object({ connectionId: z.string(), sfId: z.string(), subject: z.string(), holdMs: z.number().default(0) }) },
  { attempts: 1 },
);
let db: TestDatabase;
let prisma: PrismaClient;
const children: ChildProcess[] = [];

beforeAll(async () => {
  db = await createTestDatabase('configreload');
  prisma = createPrisma(db.url, { max: 3 });
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await prisma.$disconnect();
  await db.drop();
});

function startApp(env: Record<string, string>) {
  const child = spawn(path.join(root, 'node_modules/.bin/tsx'), [fixture], {
    cwd: root,
    env: { PATH: process.env.PATH, REDIS_URL: redisUrl(), DATABASE_URL: db.url, LOG_LEVEL: 'info', OPS_HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = async (re: RegExp, ms = 20_000) => {
    const end = Date.now() + ms;
    while (!re.test(out)) {
      if (Date.now() > end || child.exitCode !== null) throw new Error(`no ${re} in: ${out}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    return re.exec(out)!;
  };
  return { child, exited, waitFor, output: () => out };
}

/** The fixture's queue under `prefix` and its events; `close` closes both and their connections. */
async function reloadQueueAt(prefix: string) {
  const producer = createProducerConnection(redisUrl());
  const queue = openQueue(reloadQueue, producer, prefix);
  const events = new QueueEvents(reloadQueue.name, { connection: createWorkerConnection(redisUrl()), prefix });
  await events.waitUntilReady();
  const close = async () => {
    await events.close();
    await queue.close();
    producer.disconnect();
  };
  return { queue, events, close };
}

describe('configuration versions applied live', () => {
  it('exits 78 when database mode finds no version, naming the command that stores one', async () => {
    const app = startApp({ BROKER_CONFIG_SOURCE: 'database', QUEUE_PREFIX: 'cr-empty', ...SECRETS_ENV });
    expect(await app.exited).toBe(78);
    expect(app.output()).toMatch(/no configuration is stored yet: import one with `broker config import <file>`/);
  });

  it('a worker swaps versions between jobs without restarting: in-flight jobs finish on theirs, a bad version is refused, rollback restores', async () => {
    const prefix = `cr${Date.now().toString(36)}`;
    const publisher = new Redis(redisUrl());
    const saverEnv = { ...SECRETS_ENV, CS_RPS: '5' };
    const notified = createConfigStore(prisma, { notify: (v) => publishConfigVersion(publisher, prefix, v) });
    const silent = createConfigStore(prisma);
    await notified.save({ bundle: bundleOf('A'), author: 'alice', validate: { env: saverEnv } });

    // The worker has the secrets, but not CS_RPS (only the saver has it).
    const app = startApp({ BROKER_CONFIG_SOURCE: 'database', BROKER_CONFIG_CHECK_SECONDS: '2', QUEUE_PREFIX: prefix, ...SECRETS_ENV });
    const port = Number((await app.waitFor(/"opsPort":(\d+)/))[1]);
    expect(app.output()).toMatch(/"configSource":"database","configVersion":"1"/);

    const { queue, events, close } = await reloadQueueAt(prefix);
    let n = 0;
    const run = async (subject: string, holdMs = 0) => {
      const job = await enqueue(
        queue,
        'work',
        { connectionId: 'demo', sfId: `5000000000000${String(++n).padStart(2, '0')}AAA`, subject, holdMs },
        { jobId: `j${n}` },
      );
      return job.waitUntilFinished(events, 20_000) as Promise<string>;
    };
    const rows = async () => (await prisma.timelineEntry.findMany({ orderBy: { id: 'asc' } })).map((r) => [r.message, r.configVersion]);
    const metric = async (name: string) => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1]);
    };

    try {
      expect(await run('S1')).toBe('A S1 | trigger Send_to_Field_Nation__c = true');
      expect(await metric('broker_config_version')).toBe(1);

      // A job in flight when version 2 arrives (announced on Redis) finishes on version 1; the next uses 2.
      const held = run('S2', 1_500);
      await new Promise((r) => setTimeout(r, 300));
      await notified.save({
        bundle: bundleOf('B', { trigger: 'Other__c = true' }),
        author: 'bob',
        message: 'new title',
        validate: { env: saverEnv },
      });
      await app.waitFor(/configuration version 2 in force/, 5_000);
      expect(await held).toBe('A S2 | trigger Send_to_Field_Nation__c = true');
      expect(await run('S3')).toBe('B S3 | trigger Other__c = true');

      // Version 3 reads a variable this worker does not have: refused loudly, version 2 stays.
      await notified.save({
        bundle: {
          ...bundleOf('C'),
          main: bundleOf('C').main.replace('      webhookSecret:', '      requestsPerSecond: ${CS_RPS}\n      webhookSecret:'),
        },
        author: 'mallory',
        validate: { env: saverEnv },
      });
      await app.waitFor(
        /"level":"error".*CS_RPS is not set.*configuration version 3 REFUSED by test-config-worker-app: .*version 2 stays in force/,
        5_000,
      );
      expect(await run('S4')).toBe('B S4 | trigger Other__c = true');
      expect(await metric('broker_config_versions_refused_total')).toBe(1);

      // Rollback to version 1 (version 4), saved without a notification: the periodic check finds it.
      await silent.rollback({ to: 1, author: 'carol', validate: { env: saverEnv } });
      await app.waitFor(/configuration version 4 in force/, 6_000);
      expect(await run('S5')).toBe('A S5 | trigger Send_to_Field_Nation__c = true');

      // A version that changes credentials applies its live part and says what waits for a restart.
      await notified.save({ bundle: bundleOf('D', { username: 'someone@example.com' }), author: 'dan', validate: { env: saverEnv } });
      await app.waitFor(/"restartNeeded":\["connections\[demo\]\.salesforce\.auth"\].*apply only after a restart/, 5_000);
      expect(await run('S6')).toBe('D S6 | trigger Send_to_Field_Nation__c = true');

      expect(await rows()).toEqual([
        ['A S1 | trigger Send_to_Field_Nation__c = true', '1'],
        ['A S2 | trigger Send_to_Field_Nation__c = true', '1'],
        ['B S3 | trigger Other__c = true', '2'],
        ['B S4 | trigger Other__c = true', '2'],
        ['A S5 | trigger Send_to_Field_Nation__c = true', '4'],
        ['D S6 | trigger Send_to_Field_Nation__c = true', '5'],
      ]);
      // Never restarted.
      expect(app.child.exitCode).toBeNull();
      expect(app.output().match(/test-config-worker-app started/g)).toHaveLength(1);
    } finally {
      await close();
      publisher.disconnect();
    }
    app.child.kill('SIGTERM');
    expect(await app.exited).toBe(0);
  });

  it('a job for a connection added by a version not yet applied here applies it and runs, instead of failing', async () => {
    const prefix = `cq${Date.now().toString(36)}`;
    // Saved without announcements, and no periodic check within the test: only the job can find version 2.
    const silent = createConfigStore(prisma);
    await silent.save({ bundle: bundleOf('A'), author: 'alice', validate: { env: SECRETS_ENV } });
    const app = startApp({ BROKER_CONFIG_SOURCE: 'database', BROKER_CONFIG_CHECK_SECONDS: '3600', QUEUE_PREFIX: prefix, ...SECRETS_ENV });
    await app.waitFor(/test-config-worker-app started/);
    const { queue, events, close } = await reloadQueueAt(prefix);
    const run = async (connectionId: string, subject: string) => {
      const job = await enqueue(queue, 'work', { connectionId, sfId: '500000000000099AAA', subject, holdMs: 0 }, { jobId: subject });
      return (job.waitUntilFinished(events, 20_000) as Promise<string>).catch((err: Error) => `failed: ${err.message}`);
    };
    try {
      const second = bundleOf('B');
      const {
        version: { version },
      } = await silent.save({
        bundle: { ...second, main: second.main.replace('  - id: demo\n', '  - id: north\n') },
        author: 'bob',
        validate: { env: SECRETS_ENV },
      });
      // The ingress accepted a message for the new connection before this worker heard of version 2.
      expect(await run('north', 'N1')).toBe('B N1 | trigger Send_to_Field_Nation__c = true');
      expect(app.output()).toMatch(new RegExp(`configuration version ${version} in force`));
      expect(app.output()).toMatch(/unknown connection north.*a newer configuration version was applied: the job runs again on it/);
      // A connection no version has still fails for good, after one look.
      expect(await run('nowhere', 'N2')).toBe('failed: unknown connection nowhere');
    } finally {
      await close();
    }
    app.child.kill('SIGTERM');
    expect(await app.exited).toBe(0);
  });

  it('a job that starts while an announced version is being applied waits for it, so a record sent after a save uses it', async () => {
    const prefix = `cw${Date.now().toString(36)}`;
    const publisher = new Redis(redisUrl());
    const notified = createConfigStore(prisma, { notify: (v) => publishConfigVersion(publisher, prefix, v) });
    await createConfigStore(prisma).save({ bundle: bundleOf('A'), author: 'alice', validate: { env: SECRETS_ENV } });
    // Applying the next version takes 1.5 s here (its mapping names a type of work, looked up slowly).
    const app = startApp({
      BROKER_CONFIG_SOURCE: 'database',
      BROKER_CONFIG_CHECK_SECONDS: '3600',
      QUEUE_PREFIX: prefix,
      FIXTURE_CATALOGUE_DELAY_MS: '1500',
      ...SECRETS_ENV,
    });
    await app.waitFor(/test-config-worker-app started/);
    const { queue, events, close } = await reloadQueueAt(prefix);
    try {
      const named = bundleOf('P');
      const mapping = `${named.files['mappings/case.yaml']}  types_of_work:\n    value: [{ id: { typeOfWork: "Point of Sale" }, isPrimary: true }]\n`;
      await notified.save({
        bundle: { ...named, files: { ...named.files, 'mappings/case.yaml': mapping } },
        author: 'bob',
        validate: { env: SECRETS_ENV, catalogues: new Map([['demo', { typesOfWork: [{ id: 62, name: 'Point of Sale' }] }]]) },
      });
      // The record the save was made for, sent at once.
      const job = await enqueue(
        queue,
        'work',
        { connectionId: 'demo', sfId: '500000000000098AAA', subject: 'W1', holdMs: 0 },
        { jobId: 'W1' },
      );
      expect(await job.waitUntilFinished(events, 20_000)).toBe('P W1 | trigger Send_to_Field_Nation__c = true');
    } finally {
      await close();
      publisher.disconnect();
    }
    app.child.kill('SIGTERM');
    expect(await app.exited).toBe(0);
  });
});
