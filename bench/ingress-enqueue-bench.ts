// Micro-benchmark of the ingress's store step alone, as outbound-message.handler.ts runs it: one
// message of N notifications turned into sf.fetch payloads, checked against the contract, and added
// (the standard job writer, or `--via addBulk`: BullMQ's Queue.addBulk as before 2026-12-05) on a
// queue opened as the ingress opens it, `--concurrency` messages at a time, against the Redis of
// REDIS_URL on a private prefix. Prints the client CPU per job (process.cpuUsage) and, with
// REDIS_PID set (a private redis-server), the Redis CPU per job.
//
//   node --import tsx bench/ingress-enqueue-bench.ts [--batch 100] [--messages 400] [--rounds 5] [--concurrency 4] [--via writer|addBulk]
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { enqueueBulk, fetchJobId, sfFetchQueue } from '@broker/contracts';
import { makeId } from '@broker/salesforce';
import { openQueue } from '@broker/runtime';
import { deleteQueueKeys } from '../scripts/lib/broker-harness';
import { cappedSnapshot, checkFetchPayloads } from '../apps/ingress/src/outbound-message.handler';
import { createStandardJobWriter } from '../apps/ingress/src/standard-job-writer';

const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? fallback : argv[i + 1]!;
};
const batch = Number(opt('batch', '100'));
const messages = Number(opt('messages', '400'));
const rounds = Number(opt('rounds', '5'));
const concurrency = Number(opt('concurrency', '4'));
const via = opt('via', 'writer');
const prefix = `bench-enq-${process.pid}`;
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { enableAutoPipelining: true, maxRetriesPerRequest: 1 });
const queue = openQueue(sfFetchQueue, redis, prefix);
await queue.waitUntilReady();
const writer = createStandardJobWriter(queue);

const redisCpu = (): number => {
  if (!process.env.REDIS_PID) return 0;
  const f = readFileSync(`/proc/${process.env.REDIS_PID}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};

/** What the parser hands the handler for one message. */
let counter = 1;
const notifications = () =>
  Array.from({ length: batch }, () => {
    const n = counter++;
    return { id: makeId('04l', n), sObjectType: 'Case', sfId: makeId('500', n), fields: { Id: makeId('500', n), Status: 'New' } };
  });

async function store(ns: ReturnType<typeof notifications>): Promise<void> {
  const receivedAt = new Date().toISOString();
  const payloads = ns.map((n) => ({
    connectionId: 'demo',
    sfObject: n.sObjectType,
    sfId: n.sfId,
    notificationId: n.id,
    source: 'outbound-message' as const,
    receivedAt,
    snapshot: cappedSnapshot(n.fields),
  }));
  if (via === 'addBulk') {
    await enqueueBulk(
      queue,
      payloads.map((p) => ({
        name: 'fetch-record' as const,
        data: p,
        opts: { jobId: fetchJobId.outboundMessage(p.connectionId, p.notificationId) },
      })),
    );
    return;
  }
  checkFetchPayloads(sfFetchQueue, payloads);
  await writer.add(
    'fetch-record',
    payloads.map((p) => ({ jobId: fetchJobId.outboundMessage(p.connectionId, p.notificationId), data: JSON.stringify(p) })),
  );
}

const client: number[] = [];
const server: number[] = [];
try {
  for (let r = 0; r < rounds + 1; r++) {
    const inputs = Array.from({ length: messages }, notifications);
    const r0 = redisCpu();
    const t0 = process.cpuUsage();
    for (let i = 0; i < inputs.length; i += concurrency) await Promise.all(inputs.slice(i, i + concurrency).map(store));
    const d = process.cpuUsage(t0);
    const jobs = messages * batch;
    // The first round warms the JIT.
    if (r > 0) {
      client.push((d.user + d.system) / jobs);
      server.push(((redisCpu() - r0) * 1e6) / jobs);
    }
    await deleteQueueKeys(redis, prefix);
  }
} finally {
  await deleteQueueKeys(redis, prefix);
  await queue.close();
  redis.disconnect();
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log(
  JSON.stringify({
    via,
    batch,
    concurrency,
    client_us_per_job: +median(client).toFixed(2),
    client_runs: client.map((x) => +x.toFixed(1)),
    ...(process.env.REDIS_PID ? { redis_us_per_job: +median(server).toFixed(2) } : {}),
  }),
);
