// What the fetcher specs share: a Salesforce simulator and a migrated database for the file, and a
// real fetch worker on Redis (its own prefix) per test, with the queues it reads and writes.
import { QueueEvents } from 'bullmq';
import { afterAll, beforeAll } from 'vitest';
import { enqueue, fetchJobId, mapQueue, sfFetchQueue, sfWriteQueue } from '@broker/contracts';
import { parseConfig } from '@broker/config';
import { createProducerConnection, createWorkerConnection, openQueue, startWorker, type Logger, redisRecordLocks } from '@broker/runtime';
import { createSalesforceClients } from '@broker/salesforce/client';
import { createPrisma, createStore, type PrismaClient } from '@broker/store';
import { createTestDatabase, redisUrl, simConnectionYaml, type TestDatabase } from '@broker/testing';
import { startSalesforceSim, type SalesforceSim } from '../../salesforce-sim/src/index';
import { fetchRecord } from '../src/fetch-record.processor';

export interface FetcherSuite {
  readonly sim: SalesforceSim;
  readonly prisma: PrismaClient;
  /** Closed after the file's tests, last in first out, before the database and the simulator. */
  readonly cleanups: (() => Promise<unknown>)[];
}

/** Starts the simulator and a database before the file's tests and stops them after. */
export function fetcherSuite(label: string, logger: Logger): FetcherSuite {
  let sim: SalesforceSim | undefined;
  let db: TestDatabase | undefined;
  let prisma: PrismaClient | undefined;
  const cleanups: (() => Promise<unknown>)[] = [];
  beforeAll(async () => {
    sim = await startSalesforceSim({ port: 0, logger });
    db = await createTestDatabase(label);
    prisma = createPrisma(db.url);
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    await prisma?.$disconnect();
    await db?.drop();
    await sim?.close();
  });
  return {
    get sim() {
      return sim!;
    },
    get prisma() {
      return prisma!;
    },
    cleanups,
  };
}

/** A fetch worker for the `demo` connection against the suite's simulator; stopped with the suite. */
export async function startFetcher(
  suite: FetcherSuite,
  options: { prefix: string; logger: Logger; reads: string[]; objects?: string; concurrency: number },
) {
  const { prefix, logger } = options;
  const config = parseConfig(simConnectionYaml({ salesforceUrl: suite.sim.url, objects: options.objects }), '/tmp/t.yaml', {});
  const connections = new Map(config.connections.map((c) => [c.id, c]));
  const clients = createSalesforceClients(config.connections, logger);
  const conn = createWorkerConnection(redisUrl());
  const producer = createProducerConnection(redisUrl());
  const fetchQueue = openQueue(sfFetchQueue, producer, prefix);
  const outQueue = openQueue(mapQueue, conn, prefix);
  const writeQueue = openQueue(sfWriteQueue, conn, prefix);
  const store = createStore(suite.prisma);
  const worker = startWorker(
    sfFetchQueue,
    { 'fetch-record': fetchRecord },
    {
      clients,
      reads: new Map([['demo/Case', options.reads]]),
      store,
      mapQueue: outQueue,
      sfWriteQueue: writeQueue,
      redis: conn,
      prefix,
      locks: redisRecordLocks(conn, prefix),
    },
    { connection: conn, prefix, logger, concurrency: options.concurrency, connections, timeline: store },
  );
  const events = new QueueEvents(sfFetchQueue.name, { connection: createWorkerConnection(redisUrl()), prefix });
  await events.waitUntilReady();
  suite.cleanups.push(async () => {
    await worker.close();
    await events.close();
    await fetchQueue.obliterate({ force: true });
    await outQueue.obliterate({ force: true });
    await writeQueue.obliterate({ force: true });
    await fetchQueue.close();
    await outQueue.close();
    await writeQueue.close();
    conn.disconnect();
    producer.disconnect();
  });
  /** Enqueues the fetch an Outbound Message notification asks for and waits for its result. */
  const run = async (sfObject: string, sfId: string, notificationId: string, receivedAt = new Date().toISOString()) => {
    const job = await enqueue(
      fetchQueue,
      'fetch-record',
      { connectionId: 'demo', sfObject, sfId, notificationId, source: 'outbound-message', receivedAt, snapshot: {} },
      { jobId: fetchJobId.outboundMessage('demo', notificationId), attempts: 1 },
    );
    return job.waitUntilFinished(events, 15_000);
  };
  return { run, outQueue, writeQueue, clients, store };
}
