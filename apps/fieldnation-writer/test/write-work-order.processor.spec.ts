import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DelayedError, QueueEvents, UnrecoverableError } from 'bullmq';
import { enqueue, fnWriteQueue, sfWriteQueue, toCarriedStages } from '@broker/contracts';
import type { ConnectionConfig } from '@broker/config';
import { FieldNationClient, FieldNationError } from '@broker/fieldnation';
import { payloadHash } from '@broker/mapping';
import { createJobContext, createWorkerConnection, openQueue, recordDependencyWait, redisRecordLocks, startWorker } from '@broker/runtime';
import { poolOf, type Store } from '@broker/store';
import { processorSpecEnv, redisUrl } from '@broker/testing';
import { startFieldNationSim, type FieldNationSim } from '../../fieldnation-sim/src/index';
import { simConnection } from './writer-test-kit';
import { cancelWorkOrder } from '../src/cancel-work-order.processor';
import { postMessage } from '../src/post-message.processor';
import { AmbiguousCreateError, writeWorkOrder, type WriterDeps } from '../src/write-work-order.processor';

const env = processorSpecEnv({ label: 'writer', prefixStem: 'tw', queue: sfWriteQueue });
const { redis, prefix, queue, log } = env;
let store: Store;
let sim: FieldNationSim;
let deps: WriterDeps;
let connections: Map<string, ConnectionConfig>;

const payload = {
  title: 'Fix the printer',
  types_of_work: [{ id: 45, isPrimary: true }],
  location: { mode: 'custom', address1: '1 Main St', city: 'Austin', state: 'TX', zip: '78701', country: 'US', type: { id: 1 } },
  schedule: { service_window: { mode: 'exact', start: { utc: '2026-12-01 15:00:00' } } },
  pay: { type: 'fixed', base: { amount: 120, units: 1 } },
};

beforeAll(async () => {
  store = env.store;
  sim = await startFieldNationSim({ port: 0, rateLimit: false, logger: log });
  const made = simConnection(sim.url, {
    objects:
      '{ Case: { mapping: x.yaml, afterCreate: { publish: true }, writeBack: { workOrderIdField: Field_Nation_Work_Order_Id__c } } }',
    fieldnationExtra: `\n      createSettleSeconds: 3`,
  });
  const client = made.client;
  connections = made.connections;
  deps = { clients: new Map([['demo', client]]), store, sfWriteQueue: queue, locks: redisRecordLocks(redis, prefix) };
});
afterAll(async () => {
  await sim.close();
});

let n = 0;
/** When each job asked BullMQ to run it again (moveToDelayed), by job id. */
const delayedUntil = new Map<string, number>();
const job = (sfId: string, data: Record<string, unknown> = {}, attemptsMade = 0) => {
  const id = `wo-${++n}`;
  return {
    id,
    queueName: 'fn.write',
    attemptsMade,
    data: {
      connectionId: 'demo',
      sfObject: 'Case',
      sfId,
      notificationId: `n${n}`,
      sfModstamp: new Date(Date.now() + n * 1000).toISOString(),
      payload,
      payloadHash: `h${n}`,
      createOnly: [],
      ...data,
    },
    moveToDelayed: async (at: number) => void delayedUntil.set(id, at),
  } as never;
};
const outcomesOf = async (sfId: string) =>
  (await queue.getJobs(['waiting', 'prioritized', 'delayed'])).filter((j) => j.data.sfId === sfId && j.data.cause.kind === 'sync-feedback');
const runWith = (j: never, conns: Map<string, ConnectionConfig>) =>
  writeWorkOrder(j, deps, createJobContext(j, { log, connections: conns, timeline: store }));
const run = (j: never) => runWith(j, connections);
const forCase = (sfId: string) => sim.listWorkOrders().filter((w) => w.incident_id === sfId);
const creates = () => sim.counters().routes['POST /api/rest/v2/workorders']?.calls ?? 0;
const correlationOf = (sfId: string) => store.getCorrelation({ connectionId: 'demo', sfId });
/** Mark the row as an earlier attempt does just before sending its create. */
const markCreateSent = async (sfId: string, at = new Date()) => {
  const { correlation } = await store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId });
  await store.updateCorrelation(correlation.id, correlation.version, { ambiguousCreateAt: at });
};

describe('fieldnation-writer', () => {
  it('creates, publishes, correlates and asks for the synced outcome of every record state written', async () => {
    const sfId = '500000000000011AAA';
    const first = job(sfId);
    expect(await run(first)).toBe('created');
    const c = await store.getCorrelation({ connectionId: 'demo', sfId });
    expect(c).toMatchObject({ state: 'synced', workOrderId: forCase(sfId)[0]!.id });
    expect((forCase(sfId)[0]!.status as { id: number }).id).toBe(2);
    const modstamp = Date.parse((first as { data: { sfModstamp: string } }).data.sfModstamp);
    expect(await queue.getJob(`fb-demo-${sfId}-ok${modstamp}`)).toMatchObject({
      data: { fields: { Field_Nation_Work_Order_Id__c: String(c!.workOrderId) }, outcome: { status: 'synced', rewrite: false } },
    });
    // An older state of the same record is ignored, and says nothing.
    expect(await run(job(sfId, { sfModstamp: '2020-01-01T00:00:00.000Z' }))).toBe('stale');
    expect(await outcomesOf(sfId)).toHaveLength(1);
    // A newer one sends only what changed, and has its own outcome.
    expect(await run(job(sfId, { payload: { ...payload, title: 'Fix two printers' } }))).toBe('updated');
    expect(forCase(sfId)[0]!.title).toBe('Fix two printers');
    expect(await outcomesOf(sfId)).toHaveLength(2);
  });

  it('recovers a work order created before a crash instead of creating a second', async () => {
    const sfId = '500000000000012AAA';
    // The earlier attempt claimed the row and created the work order, then died before saving.
    await markCreateSent(sfId);
    const created = await (deps.clients.get('demo') as FieldNationClient).createWorkOrder({ ...payload, incident_id: sfId } as never);
    expect(await run(job(sfId, {}, 1))).toBe('recovered');
    expect(forCase(sfId)).toHaveLength(1);
    expect((await store.getCorrelation({ connectionId: 'demo', sfId }))?.workOrderId).toBe(Number(created.id));
  });

  it('resumes after a crash between publishing and saving without publishing twice', async () => {
    const sfId = '500000000000014AAA';
    const { correlation } = await store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId });
    const client = deps.clients.get('demo')!;
    const wo = await client.createWorkOrder({ ...payload, incident_id: sfId } as never);
    await client.publishWorkOrder(Number(wo.id));
    await store.updateCorrelation(correlation.id, correlation.version, { workOrderId: Number(wo.id), state: 'created' });
    expect(await run(job(sfId, {}, 1))).toMatch(/updated|unchanged/);
    expect((await store.getCorrelation({ connectionId: 'demo', sfId }))?.state).toBe('synced');
    expect(forCase(sfId)).toHaveLength(1);
  });

  it('stores the work order id when a step after the create fails, so the retry publishes it without a lookup', async () => {
    const sfId = '500000000000041AAA';
    const lookups = () => sim.counters().routes['GET /api/rest/v2/workorders']?.calls ?? 0;
    sim.injectFault({ method: 'POST', path: '^/api/rest/v2/workorders/\\d+/publish$', status: 503, count: 1 });
    await expect(run(job(sfId))).rejects.toThrow(/publish failed with 503/);
    const stored = await correlationOf(sfId);
    expect(stored).toMatchObject({ state: 'created', workOrderId: forCase(sfId)[0]!.id, ambiguousCreateAt: null });
    const before = { creates: creates(), lookups: lookups() };
    expect(await run(job(sfId, {}, 1))).toMatch(/updated|unchanged/);
    expect({ creates: creates(), lookups: lookups() }).toEqual(before);
    expect(forCase(sfId)).toHaveLength(1);
    expect((forCase(sfId)[0]!.status as { id: number }).id).toBe(2); // published
    expect((await correlationOf(sfId))?.state).toBe('synced');
  });

  it('a crash after the create, before the row stores its id, is recovered by lookup, not a second create', async () => {
    const sfId = '500000000000042AAA';
    const realUpdate = store.updateCorrelation;
    store.updateCorrelation = () => Promise.reject(new Error('SIGKILL'));
    await expect(run(job(sfId))).rejects.toThrow('SIGKILL');
    store.updateCorrelation = realUpdate;
    expect(forCase(sfId)).toHaveLength(1);
    expect((await correlationOf(sfId))?.ambiguousCreateAt).not.toBeNull();
    const before = creates();
    expect(await run(job(sfId, {}, 1))).toBe('recovered');
    expect(creates()).toBe(before);
    expect(await correlationOf(sfId)).toMatchObject({ state: 'synced', workOrderId: forCase(sfId)[0]!.id });
    expect((forCase(sfId)[0]!.status as { id: number }).id).toBe(2);
  });

  it('fails a payload Field Nation rejects permanently, with its message', async () => {
    const sfId = '500000000000013AAA';
    const err = await run(job(sfId, { payload: { title: '' } })).catch((e: Error) => e);
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect((err as Error).message).toMatch(/422|title/);
    expect(forCase(sfId)).toHaveLength(0);
    // A definite no: nothing to look for next time.
    expect((await correlationOf(sfId))?.ambiguousCreateAt).toBeNull();
  });

  it('does not lose the write-back when the process dies right after the row says synced', async () => {
    const sfId = '500000000000015AAA';
    const realUpdate = store.updateCorrelation;
    // The row is saved as synced (its written row with it); the process dies right after.
    store.updateCorrelation = async (...args) => {
      const row = await realUpdate.apply(store, args);
      if (args[2].state === 'synced') throw new Error('SIGKILL');
      return row;
    };
    await expect(run(job(sfId))).rejects.toThrow('SIGKILL');
    store.updateCorrelation = realUpdate;
    const c = await store.getCorrelation({ connectionId: 'demo', sfId });
    expect(c?.state).toBe('synced');
    expect((await outcomesOf(sfId)).map((j) => j.data.fields)).toEqual([{ Field_Nation_Work_Order_Id__c: String(c!.workOrderId) }]);
    expect(forCase(sfId)).toHaveLength(1);
  });

  it('carries the Salesforce id in a custom field when configured, recovers by it, and routes instead of publishing', async () => {
    const base = connections.get('demo')!;
    const conn = {
      ...base,
      objects: {
        Case: {
          ...base.objects.Case!,
          correlation: { customFieldId: 606 },
          afterCreate: { publish: false, route: { providerId: 557 } },
          writeBack: undefined,
        },
      },
    };
    const cfConnections = new Map([['demo', conn]]) as Map<string, ConnectionConfig>;
    const sfId = '500000000000016AAA';
    const byField = () => sim.listWorkOrders().filter((w) => JSON.stringify(w.custom_fields ?? '').includes(sfId));
    expect(await runWith(job(sfId), cfConnections)).toBe('created');
    expect(byField()).toHaveLength(1);
    expect(byField()[0]!.incident_id ?? null).not.toBe(sfId);
    expect((byField()[0]!.status as { id: number }).id).toBe(9); // Routed

    // A crash after Field Nation created the next one: the retry finds it by the custom field.
    const sfId2 = '500000000000017AAA';
    await markCreateSent(sfId2);
    const made = await (deps.clients.get('demo') as FieldNationClient).createWorkOrder({
      ...payload,
      custom_fields: { results: [{ results: [{ id: 606, value: sfId2 }] }] },
    } as never);
    expect(await runWith(job(sfId2, {}, 1), cfConnections)).toBe('recovered');
    expect((await store.getCorrelation({ connectionId: 'demo', sfId: sfId2 }))?.workOrderId).toBe(Number(made.id));
  });

  it.each([
    ['a 502 answer', { status: 502 }],
    ['a cut connection', { timeout: true }],
  ])(
    'after Field Nation created the work order but %s lost the answer, the retry finds it instead of creating a second',
    async (_name, fault) => {
      const sfId = 'timeout' in fault ? '500000000000019AAA' : '500000000000018AAA';
      sim.injectFault({ method: 'POST', path: '^/api/rest/v2/workorders$', afterRoute: true, count: 1, ...fault });
      const err = await run(job(sfId)).catch((e: Error) => e);
      expect(err).toBeInstanceOf(AmbiguousCreateError); // retried (not given up), the client's error as its cause
      expect((err as Error).cause).toBeInstanceOf(FieldNationError);
      expect((await correlationOf(sfId))?.ambiguousCreateAt).toBeInstanceOf(Date);
      expect(forCase(sfId)).toHaveLength(1); // Field Nation did create it
      expect(await run(job(sfId))).toBe('recovered');
      expect(forCase(sfId)).toHaveLength(1);
      expect(await store.getCorrelation({ connectionId: 'demo', sfId })).toMatchObject({
        state: 'synced',
        workOrderId: forCase(sfId)[0]!.id,
        ambiguousCreateAt: null,
      });
    },
  );

  it('after a create Field Nation commits only later (after the client gave up), early lookups never create: the job waits, then adopts it', async () => {
    const sfId = '500000000000020AAA';
    sim.injectFault({ method: 'POST', path: '^/api/rest/v2/workorders$', commitAfterMs: 1_500, hangMs: 100, count: 1 });
    const before = creates();
    await expect(run(job(sfId))).rejects.toBeInstanceOf(AmbiguousCreateError);
    const marked = (await correlationOf(sfId))!;
    expect(marked).toMatchObject({ workOrderId: null });
    expect(marked.ambiguousCreateAt).toBeInstanceOf(Date);
    expect(forCase(sfId)).toHaveLength(0); // not there yet

    // Looks before the settle time find nothing and do not create: the job waits, without spending
    // an attempt, and looks again within the settle time (3 s configured), never past it.
    const early = job(sfId, {}, 1);
    await expect(run(early)).rejects.toBeInstanceOf(DelayedError);
    expect(delayedUntil.get((early as { id: string }).id)).toBeLessThanOrEqual(marked.ambiguousCreateAt!.getTime() + 3_000);
    expect(creates()).toBe(before + 1);
    expect(forCase(sfId)).toHaveLength(0);

    await new Promise((r) => setTimeout(r, 1_800)); // Field Nation finishes the first create
    expect(forCase(sfId)).toHaveLength(1);
    expect(await run(job(sfId))).toBe('recovered');
    expect(forCase(sfId)).toHaveLength(1);
    expect(creates()).toBe(before + 1);
    expect(await correlationOf(sfId)).toMatchObject({ state: 'synced', workOrderId: forCase(sfId)[0]!.id, ambiguousCreateAt: null });
  });

  it('creates again only when a lookup made after the settle time still finds nothing', async () => {
    const sfId = '500000000000021AAA';
    // A 502 before the route ran: nothing was made, but the client cannot know that.
    sim.injectFault({ method: 'POST', path: '^/api/rest/v2/workorders$', status: 502, count: 1 });
    const before = creates();
    await expect(run(job(sfId))).rejects.toBeInstanceOf(AmbiguousCreateError);
    const since = (await correlationOf(sfId))!.ambiguousCreateAt!.getTime();
    while (Date.now() < since + 2_500) {
      await expect(run(job(sfId))).rejects.toBeInstanceOf(DelayedError);
      expect(creates()).toBe(before + 1);
      await new Promise((r) => setTimeout(r, 500));
    }
    await new Promise((r) => setTimeout(r, Math.max(0, since + 3_100 - Date.now())));
    expect(await run(job(sfId))).toBe('created');
    expect(creates()).toBe(before + 2);
    expect(forCase(sfId)).toHaveLength(1);
    expect(await correlationOf(sfId)).toMatchObject({ state: 'synced', workOrderId: forCase(sfId)[0]!.id, ambiguousCreateAt: null });
  });

  it('a crash during the create (marker set, no answer recorded) is looked up before anything is sent again', async () => {
    const sfId = '500000000000022AAA';
    await markCreateSent(sfId, new Date(Date.now() - 10_000)); // long enough ago to have settled
    const made = await (deps.clients.get('demo') as FieldNationClient).createWorkOrder({ ...payload, incident_id: sfId } as never);
    const before = creates();
    expect(await run(job(sfId))).toBe('recovered');
    expect(creates()).toBe(before);
    expect((await correlationOf(sfId))?.workOrderId).toBe(Number(made.id));
  });

  it('writes the retry row once while a Field Nation outage makes the job wait and run again, then the wait', async () => {
    const sfId = '500000000000031AAA';
    expect(await run(job(sfId))).toBe('created');
    const workOrderId = (await correlationOf(sfId))!.workOrderId!;
    // Field Nation answers 503 to the next four updates: an outage, waited out without spending attempts.
    sim.injectFault({ method: 'PUT', path: `^/api/rest/v2/workorders/${workOrderId}$`, status: 503, count: 4 });
    const conn = createWorkerConnection(redisUrl());
    const writeQueue = openQueue(fnWriteQueue, redis, prefix);
    const worker = startWorker(
      fnWriteQueue,
      { 'write-work-order': writeWorkOrder, 'post-message': postMessage, 'cancel-work-order': cancelWorkOrder },
      deps,
      {
        connection: conn,
        prefix,
        logger: log,
        concurrency: 1,
        connections,
        timeline: store,
        dependencyWait: { initialDelayMs: 100, maxDelayMs: 200 },
        onDependencyWaitOver: recordDependencyWait(store),
      },
    );
    const events = new QueueEvents(fnWriteQueue.name, { connection: createWorkerConnection(redisUrl()), prefix });
    try {
      await events.waitUntilReady();
      const data = (job(sfId, { payload: { ...payload, title: 'Fix three printers' } }) as unknown as { data: never }).data;
      const queued = await enqueue(writeQueue, 'write-work-order', data, { jobId: `wo-outage-${Date.now()}`, attempts: 1 });
      expect(await queued.waitUntilFinished(events, 30_000)).toBe('updated');
      expect(sim.getWorkOrder(workOrderId)!.title).toBe('Fix three printers');
      const done = (await writeQueue.getJob(queued.id!))!;
      expect(done.attemptsStarted).toBe(5); // four waits, then the update went through
      expect(done.attemptsMade).toBe(1);
      const rows = (await store.timeline(sfId)).filter((r) => r.jobId === queued.id).map((r) => `${r.stage} ${r.outcome}`);
      expect(rows).toEqual(['written retry', 'waited ok', 'written ok']);
    } finally {
      await worker.close();
      await events.close();
      await writeQueue.obliterate({ force: true });
      await writeQueue.close();
      conn.disconnect();
    }
  });
});

/** The row the mapper stamps for a record state and hands over in the write job. */
const carried = (sfId: string, mapJobId: string, at: Date, message = 'new work order') =>
  toCarriedStages([{ connectionId: 'demo', sfId, stage: 'mapped', outcome: 'ok', queue: 'map', jobId: mapJobId, message, at }]);
const mappedRows = async (sfId: string) => (await store.timeline(sfId)).filter((r) => r.stage === 'mapped');
/** PostgreSQL statements the store sends while `fn` runs (every store statement goes through the pool), by name. */
async function statements<T>(fn: () => Promise<T>): Promise<{ result: T; count: number; names: string[] }> {
  const pool = poolOf(env.prisma);
  const query = pool.query;
  const names: string[] = [];
  pool.query = ((...args: Parameters<typeof query>) => {
    names.push((args[0] as { name?: string }).name ?? String(args[0]));
    return query.apply(pool, args);
  }) as typeof query;
  try {
    const result = await fn();
    return { result, count: names.length, names };
  } finally {
    pool.query = query;
  }
}

describe('fieldnation-writer: the mapped rows a write job carries', () => {
  it("writes them with its claim (no statement more), once, at the mapper's time", async () => {
    const sfId = '500000000000051AAA';
    const at = new Date(Date.now() - 5_000);
    const withRows = await statements(() => run(job(sfId, { stages: carried(sfId, 'map-demo-51', at) })));
    expect(withRows.result).toBe('created');
    const without = await statements(() => run(job('500000000000052AAA')));
    expect(without.result).toBe('created');
    expect(withRows.count).toBe(without.count);
    expect(withRows.names[0]).toBe('corr_claim_t'); // the claim carries them
    expect(without.names[0]).toBe('corr_claim');
    const rows = await store.timeline(sfId);
    expect(rows.map((r) => `${r.stage} ${r.outcome}`)).toEqual(['mapped ok', 'written ok']);
    expect(rows[0]).toMatchObject({ queue: 'map', jobId: 'map-demo-51', message: 'new work order', at });
  });

  it('a job run again writes them once: after a failure past its claim, after waiting for the lock, after a stall', async () => {
    // A step after the claim fails: the retry finds them written.
    const sfId = '500000000000053AAA';
    sim.injectFault({ method: 'POST', path: '^/api/rest/v2/workorders/\\d+/publish$', status: 503, count: 1 });
    const first = job(sfId, { stages: carried(sfId, 'map-demo-53', new Date()) });
    await expect(run(first)).rejects.toThrow(/publish failed with 503/);
    expect(await run({ ...(first as object), attemptsMade: 1, attemptsStarted: 2 } as never)).toMatch(/updated|unchanged/);
    expect(await mappedRows(sfId)).toHaveLength(1);

    // The record is busy: the job waits without writing them; its next start does.
    const busy = '500000000000054AAA';
    const held = await deps.locks.tryLock('fnw', 'demo', busy);
    const waiting = job(busy, { stages: carried(busy, 'map-demo-54', new Date()) });
    const ctx = createJobContext(waiting, { log, connections, timeline: store });
    await expect(writeWorkOrder(waiting, deps, ctx)).rejects.toBeInstanceOf(DelayedError);
    await ctx.flushStages(); // what the worker does on every way out
    expect(await mappedRows(busy)).toHaveLength(0);
    await held!();
    const again = { ...(waiting as object), attemptsStarted: 2 } as never;
    expect(await run(again)).toBe('created');
    expect(await mappedRows(busy)).toHaveLength(1);
    // Stalled after its claim and run a third time: still one.
    expect(await run({ ...(waiting as object), attemptsStarted: 3 } as never)).toBe('stale');
    expect(await mappedRows(busy)).toHaveLength(1);
  });

  it('a job that fails for good writes them once, whether it failed before its claim or after', async () => {
    const rejected = '500000000000055AAA';
    const unconfigured = '500000000000056AAA';
    const conn = createWorkerConnection(redisUrl());
    const writeQueue = openQueue(fnWriteQueue, redis, prefix);
    const worker = startWorker(
      fnWriteQueue,
      { 'write-work-order': writeWorkOrder, 'post-message': postMessage, 'cancel-work-order': cancelWorkOrder },
      deps,
      { connection: conn, prefix, logger: log, concurrency: 1, connections, timeline: store, failedStage: 'written' },
    );
    const events = new QueueEvents(fnWriteQueue.name, { connection: createWorkerConnection(redisUrl()), prefix });
    try {
      await events.waitUntilReady();
      const dataOf = (sfId: string, extra: Record<string, unknown>) =>
        (job(sfId, { stages: carried(sfId, `map-${sfId}`, new Date()), ...extra }) as unknown as { data: never }).data;
      // Field Nation refuses the payload (past the claim); the object is no longer configured (before it).
      const jobs = [
        await enqueue(writeQueue, 'write-work-order', dataOf(rejected, { payload: { title: '' } }), {
          jobId: `wo-rej-${Date.now()}`,
          attempts: 1,
        }),
        await enqueue(writeQueue, 'write-work-order', dataOf(unconfigured, { sfObject: 'Gone__c' }), {
          jobId: `wo-gone-${Date.now()}`,
          attempts: 3,
        }),
      ];
      for (const j of jobs) await expect(j.waitUntilFinished(events, 30_000)).rejects.toThrow(/422|not configured/);
      for (const sfId of [rejected, unconfigured]) {
        // The failed row is written after the failed event.
        let rows: string[] = [];
        for (let i = 0; i < 50 && !rows.some((r) => r.startsWith('written failed')); i++) {
          if (i) await new Promise((r) => setTimeout(r, 100));
          rows = (await store.timeline(sfId)).map((r) => `${r.stage} ${r.outcome} ${r.jobId}`);
        }
        expect(rows.filter((r) => r.startsWith('mapped'))).toEqual([`mapped ok map-${sfId}`]);
        expect(rows.filter((r) => r.startsWith('written failed'))).toHaveLength(1);
      }
    } finally {
      await worker.close();
      await events.close();
      await writeQueue.obliterate({ force: true });
      await writeQueue.close();
      conn.disconnect();
    }
  });
});

describe('fieldnation-writer: write jobs the mapper queued from a correlation snapshot older than the row', () => {
  let m = 0;
  /**
   * The write job the mapper queues when its snapshot (read at the fetch) says the record has no work
   * order yet, or is synced with another payload (the mapper goes by it: map-record specs); run through the writer.
   */
  function queuedFromSnapshot(sfId: string, title: string, modstamp: Date, snapshotWorkOrder: number | null) {
    const mapped = { ...payload, title };
    const message = snapshotWorkOrder ? `update of work order ${snapshotWorkOrder}` : 'new work order';
    return {
      id: `wo-snap-${++m}`,
      queueName: 'fn.write',
      attemptsMade: 0,
      attemptsStarted: 1,
      data: {
        connectionId: 'demo',
        sfObject: 'Case',
        sfId,
        notificationId: `ns${m}`,
        sfModstamp: modstamp.toISOString(),
        payload: mapped,
        payloadHash: payloadHash(mapped),
        createOnly: [],
        stages: carried(sfId, `map-snap-${m}`, new Date(), message),
      },
    } as never;
  }
  const puts = () => Object.entries(sim.counters().routes).reduce((sum, [route, r]) => sum + (route.startsWith('PUT ') ? r.calls : 0), 0);

  it('a state already written, a work order created since, the payload already sent, a cancelled one: the writer decides right', async () => {
    const sfId = '500000000000061AAA';
    const t = (s: number) => new Date(Date.UTC(2026, 11, 1, 9, 0, s));
    // Two notifications of one state, both mapped from "no row yet": the second meets the row the first wrote.
    expect(await run(queuedFromSnapshot(sfId, 'Fix the printer', t(1), null))).toBe('created');
    const createsBefore = creates();
    expect(await run(queuedFromSnapshot(sfId, 'Fix the printer', t(1), null))).toBe('stale');
    // A newer state, still from "no row yet": an update of the work order the row has, never a second create.
    expect(await run(queuedFromSnapshot(sfId, 'Fix two printers', t(2), null))).toBe('updated');
    expect(creates()).toBe(createsBefore);
    expect(forCase(sfId)).toHaveLength(1);
    expect(forCase(sfId)[0]!.title).toBe('Fix two printers');

    // The snapshot held an older payload (so the mapper did not skip): the payload the row holds sends nothing.
    const workOrderId = (await correlationOf(sfId))!.workOrderId!;
    const putsBefore = puts();
    expect(await run(queuedFromSnapshot(sfId, 'Fix two printers', t(3), workOrderId))).toBe('unchanged');
    expect(puts()).toBe(putsBefore);

    // Cancelled since the snapshot: nothing is sent.
    const row = (await correlationOf(sfId))!;
    await store.updateCorrelation(row.id, row.version, { state: 'cancelled' });
    expect(await run(queuedFromSnapshot(sfId, 'Fix three printers', t(4), workOrderId))).toBe('cancelled');
    expect(forCase(sfId)[0]!.title).toBe('Fix two printers');

    // Every mapping's row is written once, in the order of the mapping.
    expect((await mappedRows(sfId)).map((r) => r.jobId)).toEqual(['map-snap-1', 'map-snap-2', 'map-snap-3', 'map-snap-4', 'map-snap-5']);
  });
});
