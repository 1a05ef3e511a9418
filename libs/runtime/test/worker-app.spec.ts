// runWorkerApp as the apps run it: a child process with the env the deployment sets, real Redis and
// PostgreSQL. Exit codes are the ingress's: 78 (EX_CONFIG) for a bad env or config, with the
// problem named and no stack trace; 0 after a clean SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueEvents } from 'bullmq';
import { z } from 'zod';
import { defineQueue, enqueue } from '@broker/contracts';
import { createProducerConnection, createWorkerConnection, openQueue } from '@broker/runtime';
import { createPrisma, type PrismaClient } from '@broker/store';
import { createTestDatabase, redisUrl, simConnectionYaml, type TestDatabase } from '@broker/testing';

const root = path.resolve(import.meta.dirname, '../../..');
const fixture = path.join(import.meta.dirname, 'fixtures/worker-app.ts');
const appQueue = defineQueue(
  'test.app',
  { work: z.object({ connectionId: z.string(), sfId: z.string(), waitMs: z.number().default(0) }) },
  { attempts: 1 },
);
let db: TestDatabase;
let prisma: PrismaClient;
const children: ChildProcess[] = [];

beforeAll(async () => {
  db = await createTestDatabase('workerapp');
  prisma = createPrisma(db.url);
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await prisma.$disconnect();
  await db.drop();
});

function startApp(env: Record<string, string>) {
  const child = spawn(path.join(root, 'node_modules/.bin/tsx'), [fixture], {
    cwd: root,
    env: { PATH: process.env.PATH, REDIS_URL: redisUrl(), DATABASE_URL: db.url, ...env },
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

const configFile = (text: string) => {
  const file = path.join(tmpdir(), `worker-app-${Date.now()}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, text);
  return file;
};

describe('runWorkerApp', () => {
  it('exits 78 naming the bad config key, without a stack trace', async () => {
    const app = startApp({ BROKER_CONFIG: configFile('connections:\n  - id: demo\n    salesforce: {}\n'), LOG_LEVEL: 'info' });
    expect(await app.exited).toBe(78);
    expect(app.output()).toMatch(/invalid config .*connections\[0\]\.salesforce\.organizationId/s);
    expect(app.output()).not.toMatch(/\n\s+at /);
  });

  it('exits 78 naming every bad environment variable', async () => {
    const app = startApp({
      BROKER_CONFIG: configFile(simConnectionYaml({ salesforceUrl: 'https://example.my.salesforce.com' })),
      DATABASE_URL: 'not a url',
      CONCURRENCY: '0',
    });
    expect(await app.exited).toBe(78);
    expect(app.output()).toMatch(/DATABASE_URL/);
    expect(app.output()).toMatch(/CONCURRENCY/);
  });

  it('serves /readyz and /metrics, runs jobs with a context (delay spends no attempt, stages and failures reach the timeline), and exits 0 on SIGTERM', async () => {
    const prefix = `wa${Date.now().toString(36)}`;
    const app = startApp({
      BROKER_CONFIG: configFile(simConnectionYaml({ salesforceUrl: 'https://example.my.salesforce.com' })),
      QUEUE_PREFIX: prefix,
      OPS_HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    });
    const port = Number((await app.waitFor(/"opsPort":(\d+)/))[1]);
    const ready = async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status;
    const end = Date.now() + 15_000;
    while ((await ready()) !== 200 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    expect(await ready()).toBe(200);
    expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toMatch(/broker_job_duration_seconds/);

    const producer = createProducerConnection(redisUrl());
    const queue = openQueue(appQueue, producer, prefix);
    const events = new QueueEvents(appQueue.name, { connection: createWorkerConnection(redisUrl()), prefix });
    await events.waitUntilReady();
    try {
      const waited = await enqueue(queue, 'work', { connectionId: 'demo', sfId: '500000000000001AAA', waitMs: 300 }, { jobId: 'w1' });
      expect(await waited.waitUntilFinished(events, 15_000)).toBe('done');
      const done = await queue.getJob('w1');
      // Two starts, one attempt: BullMQ counts the run that completed; the delay spent none.
      expect([done!.attemptsStarted, done!.attemptsMade]).toEqual([2, 1]);
      const unknown = await enqueue(queue, 'work', { connectionId: 'gone', sfId: '500000000000002AAA', waitMs: 0 }, { jobId: 'w2' });
      await expect(unknown.waitUntilFinished(events, 15_000)).rejects.toThrow('unknown connection gone');

      const rows = async () => prisma.timelineEntry.findMany({ orderBy: { id: 'asc' } });
      const until = Date.now() + 10_000;
      while ((await rows()).length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      expect((await rows()).map((r) => [r.connectionId, r.sfId, r.stage, r.outcome, r.jobId, r.message])).toEqual([
        ['demo', '500000000000001AAA', 'mapped', 'ok', 'w1', 'ran on demo after 2 start(s)'],
        ['gone', '500000000000002AAA', 'mapped', 'failed', 'w2', 'unknown connection gone'],
      ]);
      expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toMatch(
        /broker_job_failures_total\{[^}]*reason="config"[^}]*final="true"/,
      );
    } finally {
      await events.close();
      await queue.obliterate({ force: true });
      await queue.close();
      producer.disconnect();
    }
    app.child.kill('SIGTERM');
    expect(await app.exited).toBe(0);
  });
});
