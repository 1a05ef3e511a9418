import { afterAll, beforeAll } from 'vitest';
import type { QueueContract } from '@broker/contracts';
import { createLogger, createProducerConnection, openQueue } from '@broker/runtime';
import { createPrisma, createStore, type PrismaClient, type Store } from '@broker/store';
import { redisUrl } from './env';
import { createTestDatabase, type TestDatabase } from './test-database';

/**
 * What a processor spec calls its processor with: a migrated database and its store, a Redis
 * connection, the queue the processor writes to under a prefix of its own, and a silent logger.
 * The database and the queue's keys are removed after the file's tests.
 */
export function processorSpecEnv<Q extends QueueContract>(options: { label: string; prefixStem: string; queue: Q }) {
  const redis = createProducerConnection(redisUrl());
  const prefix = `${options.prefixStem}${Date.now().toString(36)}`;
  const queue = openQueue(options.queue, redis, prefix);
  const log = createLogger({ service: `${options.label}-test`, level: 'silent' });
  let db: TestDatabase | undefined;
  let prisma: PrismaClient | undefined;
  let store: Store | undefined;
  beforeAll(async () => {
    db = await createTestDatabase(options.label);
    prisma = createPrisma(db.url);
    store = createStore(prisma);
  });
  afterAll(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
    redis.disconnect();
    await prisma?.$disconnect();
    await db?.drop();
  });
  return {
    redis,
    prefix,
    queue,
    log,
    get prisma(): PrismaClient {
      return prisma!;
    },
    get store(): Store {
      return store!;
    },
  };
}
