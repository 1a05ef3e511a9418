import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DelayedError, QueueEvents } from 'bullmq';
import { enqueue, jobId, mapQueue, sfFetchQueue, sfWriteQueue } from '@broker/contracts';
import { parseConfig, type ConnectionConfig } from '@broker/config';
import { createJobContext, createWorkerConnection, openQueue, startWorker, redisRecordLocks } from '@broker/runtime';
import { ApiBudgetError, createSalesforceClients, type SalesforceClient } from '@broker/salesforce/client';
import type { Store } from '@broker/store';
import { processorSpecEnv, redisUrl, simConnectionYaml } from '@broker/testing';
import { startSalesforceSim, type SalesforceSim } from '../../salesforce-sim/src/index';
import { reconcileSweep, type ReconcileDeps } from '../src/reconcile.processor';
import { fetchRecord } from '../src/fetch-record.processor';

let sim: SalesforceSim;
let store: Store;
const env = processorSpecEnv({ label: 'reconcile', prefixStem: 'trc', queue: sfFetchQueue });
const { redis, prefix, queue: fetchQueue, log } = env;

beforeAll(async () => {
  sim = await startSalesforceSim({ port: 0, logger: log });
  store = env.store;
});
afterAll(async () => {
  await sim?.close();
});

function connectionWith(extra: string): { connection: ConnectionConfig; client: SalesforceClient } {
  const config = parseConfig(
    simConnectionYaml({
      salesforceUrl: sim.url,
      salesforceExtra: extra,
      objects: `{ Case: { mapping: x.yaml, trigger: "Subject LIKE 'RC-%'" } }`,
    }),
    '/tmp/c.yaml',
    {},
  );
  const connection = config.connections[0]!;
  return { connection, client: createSalesforceClients(config.connections, log).get('demo')! };
}

let n = 0;
const sweepJob = () =>
  ({ id: `sweep-${++n}`, queueName: 'sf.reconcile', attemptsMade: 0, data: { connectionId: 'demo', sfObject: 'Case' } }) as never;
const sweep = (deps: ReconcileDeps, connections: Map<string, ConnectionConfig>) => {
  const job = sweepJob();
  return reconcileSweep(job, deps, createJobContext(job, { log, connections, timeline: store }));
};
const queuedIds = async () => (await fetchQueue.getJobs(['waiting'])).map((j) => j.data.sfId);

describe('reconciliation sweep', () => {
  it('reads every page of candidates, feeds records without a work order first, and spends at most maxApiCalls', async () => {
    const account = sim.ref('acme');
    // 450 matching Cases: 430 already synced (older first, so they fill the first pages), then 20 never synced.
    const ids: string[] = [];
    for (let i = 0; i < 450; i++) ids.push(sim.createRecord('Case', { Subject: `RC-${i}`, AccountId: account, Status: 'New' }));
    for (const sfId of ids.slice(0, 430)) {
      const { correlation } = await store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId });
      await store.updateCorrelation(correlation.id, correlation.version, {
        workOrderId: 1,
        state: 'synced',
        lastSfModstamp: new Date(Date.now() + 3_600_000),
      });
    }
    // One synced record changed since (by a user): stale, but behind the never-synced ones.
    const { correlation: old } = await store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId: ids[5]! });
    await store.updateCorrelation(old.id, old.version, { lastSfModstamp: new Date('2020-01-01T00:00:00Z') });

    const { connection, client } = connectionWith('');
    const settings = { ...connection.reconciliation, maxApiCalls: 15, pageSize: 200 };
    const connections = new Map([['demo', { ...connection, reconciliation: settings }]]);
    const deps: ReconcileDeps = { clients: new Map([['demo', client]]), store, fetchQueue };
    await client.ensureSession();
    sim.resetCounters();

    const result = await sweep(deps, connections);
    // Three pages (200 + 200 + 50) find 21 candidates; 15 - 3 = 12 fetches may follow.
    expect(result).toMatchObject({ scanned: 450, candidates: 21, apiCalls: 3, queued: 12, paused: false });
    expect(sim.counters().apiCalls.total).toBe(3);
    const queued = await queuedIds();
    expect(queued).toHaveLength(12);
    expect(queued.every((id) => ids.slice(430).includes(id))).toBe(true);
    expect(result.apiCalls + result.queued).toBeLessThanOrEqual(settings.maxApiCalls);
    await fetchQueue.drain();
  });

  it('stops reading pages once it has found as many candidates as the budget can fetch', async () => {
    // Every record of the first page changed since its sync.
    const firstPage = (
      sim.query("SELECT Id FROM Case WHERE Subject LIKE 'RC-%' ORDER BY SystemModstamp ASC LIMIT 200").records as { Id: string }[]
    ).map((r) => r.Id);
    for (const c of await store.getCorrelations('demo', firstPage))
      await store.updateCorrelation(c.id, c.version, { lastSfModstamp: new Date('2020-01-01T00:00:00Z') });
    const { connection, client } = connectionWith('');
    const connections = new Map([
      ['demo', { ...connection, reconciliation: { ...connection.reconciliation, maxApiCalls: 4, pageSize: 200 } }],
    ]);
    const deps: ReconcileDeps = { clients: new Map([['demo', client]]), store, fetchQueue };
    await client.ensureSession();
    sim.resetCounters();
    const result = await sweep(deps, connections);
    // The first page already holds more candidates than the 3 fetches left.
    expect(result).toMatchObject({ apiCalls: 1, queued: 3 });
    expect(sim.counters().apiCalls.total).toBe(1);
    await fetchQueue.drain();
  });

  it('does not query at all in the API reserve', async () => {
    const { connection, client } = connectionWith('      apiBudget: { reservePercent: 10, slowdownPercent: 20, probeSeconds: 3600 }');
    const connections = new Map([['demo', connection]]);
    const deps: ReconcileDeps = { clients: new Map([['demo', client]]), store, fetchQueue };
    sim.setApiUsage({ used: 95_000, max: 100_000 });
    try {
      await client.query('SELECT Id FROM Case LIMIT 1'); // reads the usage
      sim.resetCounters();
      const result = await sweep(deps, connections);
      expect(result).toMatchObject({ apiCalls: 0, queued: 0, paused: true });
      expect(sim.counters().apiCalls.total).toBe(0);
    } finally {
      sim.setApiUsage({ used: 0, max: 100_000 });
    }
  });
});

describe('API budget guard', () => {
  it('spaces calls below slowdownPercent, pauses in the reserve, and resumes after a probe once usage has fallen', async () => {
    const { client } = connectionWith('      apiBudget: { reservePercent: 10, slowdownPercent: 30, probeSeconds: 60 }');
    const t0 = Date.now();
    sim.setApiUsage({ used: 50_000, max: 100_000 });
    await client.query('SELECT Id FROM Case LIMIT 1');
    expect(client.budgetDelay(t0)).toBe(0);

    sim.setApiUsage({ used: 80_000, max: 100_000 }); // 20 % left: halfway between 30 % and 10 %
    await client.query('SELECT Id FROM Case LIMIT 1');
    expect(client.usage).toMatchObject({ used: 80_001, limit: 100_000 });
    expect(client.budgetDelay()).toBeGreaterThan(900);
    expect(client.budgetDelay()).toBeLessThan(1_100);

    sim.setApiUsage({ used: 95_000, max: 100_000 }); // 5 % left: the reserve
    await client.query('SELECT Id FROM Case LIMIT 1');
    const now = Date.now();
    expect(() => client.budgetDelay(now)).toThrow(ApiBudgetError);
    expect(() => client.budgetDelay(now + 30_000)).toThrow(ApiBudgetError);
    // A minute later one probe goes through, and only one.
    expect(client.budgetDelay(now + 61_000)).toBe(0);
    expect(() => client.budgetDelay(now + 61_500)).toThrow(ApiBudgetError);
    // The probe's answer shows the usage fell (the 24-hour window moved on): calls resume.
    sim.setApiUsage({ used: 40_000, max: 100_000 });
    await client.query('SELECT Id FROM Case LIMIT 1');
    expect(client.budgetDelay()).toBe(0);
  });

  it('delays a fetch job in the reserve without spending an attempt or an API call', async () => {
    const { connection, client } = connectionWith('      apiBudget: { reservePercent: 10, slowdownPercent: 20, probeSeconds: 3600 }');
    sim.setApiUsage({ used: 95_000, max: 100_000 });
    try {
      await client.query('SELECT Id FROM Case LIMIT 1');
      sim.resetCounters();
      const delays: number[] = [];
      const job = {
        id: 'f1',
        queueName: 'sf.fetch',
        attemptsMade: 0,
        data: {
          connectionId: 'demo',
          sfObject: 'Case',
          sfId: sim.ref('case_repair'),
          notificationId: `nb${Date.now()}`,
          source: 'outbound-message',
          receivedAt: new Date().toISOString(),
          snapshot: {},
        },
        moveToDelayed: async (ts: number) => void delays.push(ts - Date.now()),
      };
      const deps = {
        clients: new Map([['demo', client]]),
        reads: new Map([['demo/Case', ['Subject']]]),
        store,
        mapQueue: undefined as never,
        sfWriteQueue: undefined as never,
        redis,
        prefix,
        locks: redisRecordLocks(redis, prefix),
      };
      await expect(
        fetchRecord(job as never, deps, createJobContext(job, { log, connections: new Map([['demo', connection]]), timeline: store })),
      ).rejects.toBeInstanceOf(DelayedError);
      expect(delays).toHaveLength(1);
      expect(delays[0]).toBeGreaterThan(3_500_000);
      expect(sim.counters().apiCalls.total).toBe(0);
    } finally {
      sim.setApiUsage({ used: 0, max: 100_000 });
    }
  });

  it('writes the received row once for a job that waited for the budget and ran again', async () => {
    const { connection, client } = connectionWith('      apiBudget: { reservePercent: 10, slowdownPercent: 20, probeSeconds: 1 }');
    const conn = createWorkerConnection(redisUrl());
    const outQueue = openQueue(mapQueue, conn, prefix);
    const deps = {
      clients: new Map([['demo', client]]),
      reads: new Map([['demo/Case', ['Subject']]]),
      store,
      mapQueue: outQueue,
      sfWriteQueue: openQueue(sfWriteQueue, conn, prefix),
      redis,
      prefix,
      locks: redisRecordLocks(redis, prefix),
    };
    const worker = startWorker(sfFetchQueue, { 'fetch-record': fetchRecord }, deps, {
      connection: conn,
      prefix,
      logger: log,
      concurrency: 1,
      connections: new Map([['demo', connection]]),
      timeline: store,
    });
    const events = new QueueEvents(sfFetchQueue.name, { connection: createWorkerConnection(redisUrl()), prefix });
    try {
      await events.waitUntilReady();
      sim.setApiUsage({ used: 95_000, max: 100_000 });
      await client.query('SELECT Id FROM Case LIMIT 1'); // the client learns the usage: in the reserve
      const sfId = sim.createRecord('Case', { Subject: 'RC-budget', Status: 'New' });
      const notificationId = `nw${Date.now()}`;
      const job = await enqueue(
        fetchQueue,
        'fetch-record',
        {
          connectionId: 'demo',
          sfObject: 'Case',
          sfId,
          notificationId,
          source: 'outbound-message',
          receivedAt: new Date().toISOString(),
          snapshot: {},
        },
        { jobId: jobId('om', 'demo', notificationId), attempts: 1 },
      );
      // Delayed at least once (BullMQ's own state says so); a second later a probe goes through.
      const delayed = await new Promise<boolean>((resolve) => {
        const poll = setInterval(async () => {
          if ((await job.getState()) === 'delayed') {
            clearInterval(poll);
            resolve(true);
          }
        }, 20);
        setTimeout(() => (clearInterval(poll), resolve(false)), 10_000);
      });
      expect(delayed).toBe(true);
      expect(await job.waitUntilFinished(events, 30_000)).toBe('fetched');
      const done = (await fetchQueue.getJob(job.id!))!;
      expect(done.attemptsStarted).toBeGreaterThan(1);
      expect(done.attemptsMade).toBe(1);
      const rows = (await store.timeline(sfId)).map((r) => `${r.stage} ${r.outcome}`);
      expect(rows.filter((r) => r.startsWith('received'))).toEqual(['received ok']);
      expect(rows).toContain('fetched ok');
    } finally {
      sim.setApiUsage({ used: 0, max: 100_000 });
      await worker.close();
      await events.close();
      await outQueue.obliterate({ force: true });
      await outQueue.close();
      conn.disconnect();
    }
  });
});
