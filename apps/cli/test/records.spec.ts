import { Worker, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueue, sfFetchQueue, sfWriteQueue, type QueueOf } from '@broker/contracts';
import { createWorkerConnection, openQueue } from '@broker/runtime';
import { makeId } from '@broker/salesforce';
import { createPrisma, createStore, type PrismaClient, type Store } from '@broker/store';
import { createTestDatabase, redisUrl, type TestDatabase } from '@broker/testing';
import { parseSince, replayCommand } from '../src/replay.command';
import { resyncCommand } from '../src/resync.command';
import { timelineCommand } from '../src/timeline.command';
import { captureIo, freshPrefix } from './cli-test-kit';

let db: TestDatabase;
let prisma: PrismaClient;
let store: Store;
let redis: Redis;
const prefix = freshPrefix();
let fetchQueue: QueueOf<typeof sfFetchQueue>;
let writeQueue: QueueOf<typeof sfWriteQueue>;
const caseId = makeId('500', 9100);

beforeAll(async () => {
  db = await createTestDatabase('cli');
  prisma = createPrisma(db.url, { max: 2 });
  store = createStore(prisma);
  redis = createWorkerConnection(redisUrl());
  fetchQueue = openQueue(sfFetchQueue, redis, prefix);
  writeQueue = openQueue(sfWriteQueue, redis, prefix);
  const { correlation } = await store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId: caseId });
  await store.updateCorrelation(correlation.id, correlation.version, { workOrderId: 5150, state: 'synced' });
  const t0 = Date.parse('2025-05-01T08:00:00Z');
  await store.recordStage({
    connectionId: 'demo',
    sfId: caseId,
    stage: 'received',
    outcome: 'ok',
    queue: 'sf.fetch',
    jobId: 'om-demo-1',
    at: new Date(t0),
  });
  await store.recordStage({ connectionId: 'demo', sfId: caseId, stage: 'fetched', outcome: 'ok', sfApiCalls: 1, at: new Date(t0 + 500) });
  await store.recordStage({
    connectionId: 'demo',
    workOrderId: 5150,
    stage: 'written',
    outcome: 'ok',
    message: 'work order 5150 created',
    at: new Date(t0 + 900),
  });
  await store.recordStage({
    connectionId: 'demo',
    sfId: caseId,
    stage: 'sf-written',
    outcome: 'failed',
    queue: 'sf.write',
    message: 'INVALID_FIELD: No such column Field_Nation_Sync_Status__c',
    sfApiCalls: 1,
    at: new Date(t0 + 1200),
  });
});

afterAll(async () => {
  for (const q of [fetchQueue, writeQueue] as Queue[]) {
    await q?.obliterate({ force: true }).catch(() => undefined);
    await q?.close();
  }
  await redis?.quit();
  await prisma?.$disconnect();
  await db?.drop();
});

describe('timeline', () => {
  it('prints the correlation and every stage, by Salesforce id, 15-character id or work order id', async () => {
    for (const id of [caseId, caseId.slice(0, 15), '5150']) {
      const io = captureIo();
      expect(await timelineCommand(id, store, io)).toBe(0);
      const text = io.stdout.join('\n');
      expect(text, id).toMatch(/demo\s+Case\s+500\w{15}\s+5150\s+synced/);
      expect(text, id).toMatch(/2025-05-01T08:00:00\.000Z\s+demo\s+received\s+ok\s+0\s+sf\.fetch\s+om-demo-1/);
      expect(text, id).toContain('INVALID_FIELD: No such column Field_Nation_Sync_Status__c');
      expect(text, id).toContain('work order 5150 created');
      expect(text, id).toContain('4 stage(s), 2 Salesforce API call(s)');
    }
  });

  it('says so for an unknown id', async () => {
    const io = captureIo();
    expect(await timelineCommand(makeId('500', 9999), store, io)).toBe(1);
    expect(io.stderr.join('')).toMatch(/nothing known about/);
  });
});

describe('resync', () => {
  it('queues an sf.fetch job for the correlated record with a unique resync id', async () => {
    const now = new Date('2025-06-01T12:00:00.000Z');
    const io = captureIo();
    expect(await resyncCommand(caseId.slice(0, 15), fetchQueue, store, { now }, io)).toBe(0);
    const id = `resync-demo-${caseId}-${now.getTime()}`;
    const job = await fetchQueue.getJob(id);
    expect(job?.name).toBe('fetch-record');
    expect(job?.data).toEqual({
      connectionId: 'demo',
      sfObject: 'Case',
      sfId: caseId,
      notificationId: id,
      source: 'resync',
      receivedAt: now.toISOString(),
      snapshot: {},
    });
    expect(io.stdout.join('')).toContain(`job ${id}`);
    const rows = await store.timeline(caseId);
    expect(rows.at(-1)).toMatchObject({ stage: 'resync-requested', jobId: id, queue: 'sf.fetch' });
  });

  it('needs --connection and --object for a record it has never seen', async () => {
    const unknown = makeId('a0B', 77);
    await expect(resyncCommand(unknown, fetchQueue, store, {}, captureIo())).rejects.toThrow(/pass --connection and --object/);
    expect(await resyncCommand(unknown, fetchQueue, store, { connection: 'demo', object: 'Work_Request__c' }, captureIo())).toBe(0);
    const jobs = await fetchQueue.getJobs(['waiting']);
    expect(jobs.find((j) => j.data.sfId === unknown)?.data.sfObject).toBe('Work_Request__c');
  });

  it('refuses something that is not a Salesforce id', async () => {
    await expect(resyncCommand('hello', fetchQueue, store, {}, captureIo())).rejects.toThrow(/not a Salesforce id/);
  });
});

describe('replay', () => {
  const write = (n: number) => ({
    connectionId: 'demo',
    sfObject: 'Case',
    sfId: makeId('500', 9200 + n),
    fields: { Status: 'Closed' },
    cause: { kind: 'fn-event' as const, id: `delivery-${n}` },
  });

  it('lists (dry run) and retries the failed jobs of a queue, optionally only the recent ones', async () => {
    // A salesforce-writer that rejects everything, so every job ends in the failed set.
    const workerConnection = createWorkerConnection(redisUrl());
    const worker = new Worker(
      sfWriteQueue.name,
      async () => {
        throw new Error('FIELD_CUSTOM_VALIDATION_EXCEPTION: blocked');
      },
      { connection: workerConnection, prefix },
    );
    const failedCount = async () => (await writeQueue.getJobCounts('failed')).failed ?? 0;
    const waitFailed = async (n: number) => {
      for (let i = 0; (await failedCount()) < n; i++) {
        if (i > 400) throw new Error('jobs did not fail');
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    for (const n of [1, 2]) await enqueue(writeQueue, 'write-record', write(n), { jobId: `old-${n}`, attempts: 1 });
    await waitFailed(2);
    await new Promise((r) => setTimeout(r, 30));
    const since = new Date();
    for (const n of [3, 4, 5]) await enqueue(writeQueue, 'write-record', write(n), { jobId: `new-${n}`, attempts: 1 });
    await waitFailed(5);
    await worker.close();
    await workerConnection.quit();

    const dry = captureIo();
    expect(await replayCommand(writeQueue, { since, dryRun: true }, dry)).toBe(0);
    const listed = dry.stdout.join('\n');
    for (const id of ['new-3', 'new-4', 'new-5']) expect(listed).toContain(id);
    expect(listed).not.toContain('old-1');
    expect(listed).toContain('FIELD_CUSTOM_VALIDATION_EXCEPTION: blocked');
    expect(listed).toContain('3 failed job(s) in sf.write failed since');
    expect(await failedCount()).toBe(5);

    // Not a terminal: no progress bar in the output.
    const io = captureIo();
    expect(await replayCommand(writeQueue, { since }, io)).toBe(0);
    expect(io.stdout.join('')).toMatch(/^retried 3 failed job\(s\) in sf\.write failed since/);
    expect(io.progress).toEqual([]);
    for (const id of ['new-3', 'new-4', 'new-5']) expect(await writeQueue.getJobState(id)).toBe('waiting');
    expect(await writeQueue.getJobState('old-1')).toBe('failed');

    // On a terminal the bar is drawn on stderr; everything left is retried.
    const tty = captureIo({ tty: true });
    expect(await replayCommand(writeQueue, {}, tty)).toBe(0);
    expect(tty.stdout.join('')).toBe('retried 2 failed job(s) in sf.write');
    expect(tty.progress.join('')).toContain('replay sf.write');
    expect(await failedCount()).toBe(0);

    const none = captureIo();
    expect(await replayCommand(writeQueue, {}, none)).toBe(0);
    expect(none.stdout.join('')).toBe('no failed jobs in sf.write');
  });

  it('reads --since as a date or a duration', () => {
    const now = new Date('2025-01-10T12:00:00Z');
    expect(parseSince('30m', now).toISOString()).toBe('2025-01-10T11:30:00.000Z');
    expect(parseSince('2d', now).toISOString()).toBe('2025-01-08T12:00:00.000Z');
    expect(parseSince('2025-01-09T00:00:00Z', now).toISOString()).toBe('2025-01-09T00:00:00.000Z');
    expect(() => parseSince('yesterday', now)).toThrow(/neither a date\/time nor a duration/);
  });
});
