import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Redis } from 'ioredis';
import { allQueues, sfFetchQueue, type QueueOf } from '@broker/contracts';
import { createLogger, createMetricsRegistry, createProducerConnection, openQueue } from '@broker/runtime';
import { createPrisma, createStore, type PrismaClient, type Store } from '@broker/store';
import { createTestDatabase, redisUrl, type TestDatabase } from '@broker/testing';
import type { Queue } from 'bullmq';
import type { Express } from 'express';
import type { AuthSettings } from '../src/auth.settings';
import { createDashboardApp, type DashboardDeps } from '../src/dashboard-app';
import { registerQueueDepthGauge } from '../src/queue-metrics';

export const USER = 'operator';
export const PASSWORD = 'correct horse battery staple';
export const TOKEN = 'a-bearer-token-for-prometheus-0123';

export const basic = (user = USER, password = PASSWORD) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

export interface DashboardUnderTest {
  url: string;
  /** The Express app being served (its router stack lists the routes). */
  app: Express;
  prefix: string;
  redis: Redis;
  db: TestDatabase;
  prisma: PrismaClient;
  store: Store;
  queues: Queue[];
  fetchQueue: QueueOf<typeof sfFetchQueue>;
  queue(name: string): Queue;
  close(): Promise<void>;
}

export const freshPrefix = (label = 'td') => `${label}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

/** The dashboard in-process on a random port, over real Redis (fresh prefix) and a fresh database. */
export async function startDashboard(
  options: { auth?: AuthSettings; db?: TestDatabase; preflight?: DashboardDeps['preflight'] } = {},
): Promise<DashboardUnderTest> {
  const db = options.db ?? (await createTestDatabase('dashboard'));
  const prisma = createPrisma(db.url, { max: 4 });
  const store = createStore(prisma);
  const prefix = freshPrefix();
  const redis = createProducerConnection(redisUrl());
  redis.on('error', () => undefined);
  const queues = allQueues.map((c) => openQueue(c, redis, prefix));
  const fetchQueue = queues.find((q) => q.name === sfFetchQueue.name) as QueueOf<typeof sfFetchQueue>;
  const registry = createMetricsRegistry('dashboard-test');
  registerQueueDepthGauge(registry, queues);
  const app = createDashboardApp({
    queues,
    fetchQueue,
    store,
    logger: createLogger({ service: 'dashboard-test', level: 'silent' }),
    auth: options.auth ?? { mode: 'credentials', user: USER, password: PASSWORD, token: TOKEN },
    preflight: options.preflight,
    registry,
    ready: async () => {
      await Promise.all([redis.ping(), prisma.$queryRaw`SELECT 1`]);
      return true;
    },
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    app,
    prefix,
    redis,
    db,
    prisma,
    store,
    queues,
    fetchQueue,
    queue: (name) => queues.find((q) => q.name === name)!,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const q of queues) {
        await q.obliterate({ force: true }).catch(() => undefined);
        await q.close();
      }
      await redis.quit().catch(() => redis.disconnect());
      await prisma.$disconnect();
      if (!options.db) await db.drop();
    },
  };
}
