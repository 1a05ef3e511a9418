import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { QueueEvents, type Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { QueueContract } from '@broker/contracts';
import { createProducerConnection, createWorkerConnection, openQueue } from '@broker/runtime';
import { redisUrl } from '@broker/testing';

/**
 * A queue on real Redis under `prefix`, the worker `start` makes on its own connection, and QueueEvents
 * to wait on jobs. One cleanup closes them all (and empties the queue), so a test leaves no keys behind.
 */
export async function runTestWorker<Q extends QueueContract>(
  cleanups: (() => Promise<unknown>)[],
  contract: Q,
  prefix: string,
  start: (connection: Redis) => Worker,
) {
  const producer = createProducerConnection(redisUrl());
  const workerConn = createWorkerConnection(redisUrl());
  const queue = openQueue(contract, producer, prefix);
  const worker = start(workerConn);
  const events = new QueueEvents(contract.name, { connection: createWorkerConnection(redisUrl()), prefix });
  cleanups.push(async () => {
    await worker.close();
    await events.close();
    await queue.obliterate({ force: true });
    await queue.close();
    producer.disconnect();
    workerConn.disconnect();
  });
  await events.waitUntilReady();
  return { queue, events, worker };
}

/** An HTTP server on 127.0.0.1 (port 0: a free one) that the cleanups close, open connections and all; its base URL. */
export async function serveForTest(cleanups: (() => Promise<unknown>)[], handler: http.RequestListener, port = 0): Promise<string> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
