import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DelayedError } from 'bullmq';
import type { Redis } from 'ioredis';
import { mapJobId, mapQueue, sfWriteQueue, type QueueOf } from '@broker/contracts';
import { parseConfig, type ConnectionConfig } from '@broker/config';
import { createJobContext, createWorkerConnection, openQueue, recordLockKey, redisRecordLocks, tryLock } from '@broker/runtime';
import { createSalesforceClients, type SalesforceClient } from '@broker/salesforce/client';
import { poolOf } from '@broker/store';
import { processorSpecEnv, redisUrl, simConnectionYaml } from '@broker/testing';
import { startSalesforceSim, type SalesforceSim } from '../../salesforce-sim/src/index';
import { fetchRecord, type FetchDeps } from '../src/fetch-record.processor';

// On the broker's VM every loopback round trip costs the sender tens of microseconds of kernel CPU
// (and the server its own): these tests count the Redis commands and PostgreSQL statements one fetch
// job sends, so that a change that adds one shows up here (the Salesforce call is the simulator's).

let sim: SalesforceSim;
const env = processorSpecEnv({ label: 'fetch_round_trips', prefixStem: 'tfr', queue: mapQueue });
const { prefix, log } = env;
let conn: Redis;
let connection: ConnectionConfig;
let client: SalesforceClient;
let deps: FetchDeps;
let mapOut: QueueOf<typeof mapQueue>;
let writeOut: QueueOf<typeof sfWriteQueue>;
const redisCommands: string[] = [];
const statements: string[] = [];

beforeAll(async () => {
  sim = await startSalesforceSim({ port: 0, logger: log });
  const config = parseConfig(
    simConnectionYaml({ salesforceUrl: sim.url, objects: '{ Case: { mapping: x.yaml, trigger: "Subject LIKE \'RT-%\'" } }' }),
    '/tmp/c.yaml',
    {},
  );
  connection = config.connections[0]!;
  client = createSalesforceClients(config.connections, log).get('demo')!;
  // The fetcher's own connection (its locks, marks and the map queue), every command counted.
  conn = createWorkerConnection(redisUrl());
  const send = conn.sendCommand.bind(conn);
  conn.sendCommand = ((command: { name: string }) => {
    redisCommands.push(command.name);
    return send(command as never);
  }) as typeof conn.sendCommand;
  const pool = poolOf(env.prisma);
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  pool.query = ((...args: unknown[]) => {
    const q = args[0] as string | { name?: string; text: string };
    statements.push(typeof q === 'string' ? q : (q.name ?? q.text));
    return query(...args);
  }) as typeof pool.query;
  mapOut = openQueue(mapQueue, conn, prefix);
  writeOut = openQueue(sfWriteQueue, conn, prefix);
  deps = {
    clients: new Map([['demo', client]]),
    reads: new Map([['demo/Case', ['Subject', 'Status']]]),
    store: env.store,
    mapQueue: mapOut,
    sfWriteQueue: writeOut,
    redis: conn,
    prefix,
    locks: redisRecordLocks(conn, prefix),
  };
  // Warm up: the session, BullMQ's scripts and the named statements are loaded once per process.
  await run(sim.createRecord('Case', { Subject: 'RT-warm-up', Status: 'New' }), new Date().toISOString());
});
afterAll(async () => {
  await sim?.close();
  await writeOut?.obliterate({ force: true });
  await writeOut?.close();
  await mapOut?.close(); // its jobs go with the suite's map queue (same prefix)
  conn?.disconnect();
});

let seq = 0;
/** Runs one fetch job for an Outbound Message, counting what it sends (the worker's own commands aside). */
async function run(
  sfId: string,
  receivedAt: string,
  options: { deps?: FetchDeps; connection?: ConnectionConfig } = {},
): Promise<{ result: string; redis: string[]; pg: string[]; delayed: boolean; notificationId: string }> {
  const notificationId = `04l0000000${String(++seq).padStart(5, '0')}AAA`;
  let delayed = false;
  const job = {
    id: `rt-${seq}`,
    queueName: 'sf.fetch',
    attemptsMade: 0,
    attemptsStarted: 1,
    data: { connectionId: 'demo', sfObject: 'Case', sfId, notificationId, source: 'outbound-message', receivedAt, snapshot: {} },
    moveToDelayed: async () => void (delayed = true),
  };
  redisCommands.length = 0;
  statements.length = 0;
  const ctx = createJobContext(job, { log, connections: new Map([['demo', options.connection ?? connection]]), timeline: env.store });
  let result: string;
  try {
    result = await fetchRecord(job as never, options.deps ?? deps, ctx);
  } catch (err) {
    if (!(err instanceof DelayedError)) throw err;
    result = 'delayed';
  }
  // As the worker does when a job ends or waits: the rows not written yet (the 'received' row of a delayed job).
  await ctx.flushStages();
  return { result, redis: [...redisCommands], pg: [...statements], delayed, notificationId };
}

const markKey = (sfId: string) => `${prefix}:fetchmark:demo:${sfId}`;

describe('round trips of one fetch job', () => {
  it('a record fetched: one read statement, the lock (reading the mark), the map job, the ledger row, the release', async () => {
    const sfId = sim.createRecord('Case', { Subject: 'RT-fresh', Status: 'New' });
    const r = await run(sfId, new Date().toISOString());
    expect(r.result).toBe('fetched');
    expect(r.redis).toEqual(['evalsha', 'evalsha', 'evalsha']); // the lock, the map job's add, the release
    expect(r.pg).toEqual(['ledger_get_corr', 'ledger_mark_t']);
    // The mapper is told the fetcher looked and found no correlation.
    expect((await mapOut.getJob(mapJobId('demo', r.notificationId)))?.data.correlation).toBeNull();
  });

  it('a record with a work order: the same, and its correlation goes to the mapper', async () => {
    const sfId = sim.createRecord('Case', { Subject: 'NotTriggered', Status: 'New' });
    const { correlation } = await env.store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId });
    const row = await env.store.updateCorrelation(correlation.id, correlation.version, {
      workOrderId: 5151,
      state: 'synced',
      lastSfModstamp: new Date('2026-12-04T09:00:00.000Z'),
      lastPayloadHash: 'h5151',
    });
    const r = await run(sfId, new Date().toISOString());
    expect(r.result).toBe('fetched');
    expect(r.redis).toEqual(['evalsha', 'evalsha', 'evalsha']); // the lock, the map job's add, the release
    expect(r.pg).toEqual(['ledger_get_corr', 'ledger_mark_t']);
    expect((await mapOut.getJob(mapJobId('demo', r.notificationId)))?.data.correlation).toEqual({
      id: row!.id,
      workOrderId: 5151,
      state: 'synced',
      version: row!.version,
      lastSfModstamp: '2026-12-04T09:00:00.000Z',
      lastPayloadHash: 'h5151',
    });
  });

  it('a notification covered by the latest fetch: the read statement, the lock attempt (not taken), the ledger row', async () => {
    const sfId = sim.createRecord('Case', { Subject: 'RT-covered', Status: 'New' });
    const before = new Date(Date.now() - 60_000).toISOString();
    expect((await run(sfId, new Date().toISOString())).result).toBe('fetched');
    const r = await run(sfId, before);
    expect(r.result).toBe('coalesced');
    expect(r.redis).toEqual(['evalsha']); // the lock attempt
    expect(r.pg).toEqual(['ledger_get_corr', 'ledger_mark_t']);
    expect(await conn.exists(recordLockKey(prefix, 'sff', 'demo', sfId))).toBe(0);
    expect(await env.store.wasInboundProcessed('demo', 'sf', r.notificationId)).toBe(true);
    const rows = (await env.store.timeline(sfId)).filter((t) => t.jobId === `rt-${seq}`);
    expect(rows.map((t) => `${t.stage} ${t.outcome}`)).toEqual(['received ok', 'fetched skipped']);
    expect(rows[1]!.message).toMatch(/^covered by a fetch started at /);
  });

  it('a record another fetch holds: the read statement and the lock attempt, then the job waits', async () => {
    const sfId = sim.createRecord('Case', { Subject: 'RT-locked', Status: 'New' });
    const held = await tryLock(env.redis, recordLockKey(prefix, 'sff', 'demo', sfId));
    try {
      const r = await run(sfId, new Date().toISOString());
      expect(r).toMatchObject({ result: 'delayed', delayed: true });
      expect(r.redis).toEqual(['evalsha']); // the lock attempt
      expect(r.pg).toEqual(['ledger_get_corr', 'timeline_insert']);
      expect(await env.store.wasInboundProcessed('demo', 'sf', r.notificationId)).toBe(false);
    } finally {
      await held!();
    }
  });

  it('a record another fetch holds, whose mark already covers the notification: coalesced without waiting', async () => {
    const sfId = sim.createRecord('Case', { Subject: 'RT-locked-covered', Status: 'New' });
    await env.redis.set(markKey(sfId), new Date().toISOString(), 'EX', 60);
    const held = await tryLock(env.redis, recordLockKey(prefix, 'sff', 'demo', sfId));
    try {
      const r = await run(sfId, new Date(Date.now() - 60_000).toISOString());
      expect(r).toMatchObject({ result: 'coalesced', delayed: false });
      expect(r.redis).toEqual(['evalsha']); // the lock attempt
      expect(r.pg).toEqual(['ledger_get_corr', 'ledger_mark_t']);
      expect(await env.store.wasInboundProcessed('demo', 'sf', r.notificationId)).toBe(true);
    } finally {
      await held!();
    }
  });

  it('a redelivered notification: the read statement only', async () => {
    const sfId = sim.createRecord('Case', { Subject: 'RT-again', Status: 'New' });
    const first = await run(sfId, new Date().toISOString());
    expect(first.result).toBe('fetched');
    seq--; // the same notification id again
    const r = await run(sfId, new Date().toISOString());
    expect(r).toMatchObject({ result: 'duplicate', notificationId: first.notificationId, redis: [] });
    expect(r.pg).toEqual(['ledger_get_corr', 'timeline_insert']);
  });

  it('in the API reserve: the mark is read on its own, a covered notification is coalesced, another waits', async () => {
    const config = parseConfig(
      simConnectionYaml({
        salesforceUrl: sim.url,
        salesforceExtra: '      apiBudget: { reservePercent: 10, slowdownPercent: 20, probeSeconds: 3600 }',
        objects: `{ Case: { mapping: x.yaml, trigger: "Subject LIKE 'RT-%'" } }`,
      }),
      '/tmp/c.yaml',
      {},
    );
    const reserve = createSalesforceClients(config.connections, log).get('demo')!;
    const inReserve = { deps: { ...deps, clients: new Map([['demo', reserve]]) }, connection: config.connections[0]! };
    sim.setApiUsage({ used: 95_000, max: 100_000 });
    try {
      await reserve.query('SELECT Id FROM Case LIMIT 1'); // the client learns the usage
      sim.resetCounters();
      const sfId = sim.createRecord('Case', { Subject: 'RT-reserve', Status: 'New' });
      await env.redis.set(markKey(sfId), new Date().toISOString(), 'EX', 60);
      const covered = await run(sfId, new Date(Date.now() - 60_000).toISOString(), inReserve);
      expect(covered).toMatchObject({ result: 'coalesced', delayed: false, redis: ['get'] });
      expect(covered.pg).toEqual(['ledger_get_corr', 'ledger_mark_t']);
      const later = await run(sfId, new Date(Date.now() + 1_000).toISOString(), inReserve);
      expect(later).toMatchObject({ result: 'delayed', delayed: true, redis: ['get'] });
      expect(sim.counters().apiCalls.total).toBe(0);
    } finally {
      sim.setApiUsage({ used: 0, max: 100_000 });
    }
  });
});
