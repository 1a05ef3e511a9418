import { beforeAll, describe, expect, it } from 'vitest';
import { UnrecoverableError } from 'bullmq';
import { fnWriteQueue, sfWriteQueue } from '@broker/contracts';
import { parseConfig, type ConnectionConfig } from '@broker/config';
import { compileMapping, payloadHash } from '@broker/mapping';
import { createJobContext, openQueue, recordLockKey, redisRecordLocks, tryLock } from '@broker/runtime';
import { poolOf, type Correlation, type Store } from '@broker/store';
import { demoConnectionYaml, processorSpecEnv } from '@broker/testing';
import { mapRecord, type MapDeps } from '../src/map-record.processor';

const env = processorSpecEnv({ label: 'maprecord', prefixStem: 'tmr', queue: fnWriteQueue });
const { redis, prefix, queue, log } = env;
let store: Store;
let deps: MapDeps;
let connections: Map<string, ConnectionConfig>;
const mapping = compileMapping(
  { object: 'Case', fields: { title: { from: 'Subject', required: true }, 'location.city': { from: 'Account.BillingCity' } } },
  { file: 'case.yaml' },
);

beforeAll(async () => {
  store = env.store;
  const config = parseConfig(
    demoConnectionYaml({
      salesforceExtra: '      integrationUserId: "005000000000009"',
      objects: '{ Case: { mapping: x.yaml }, CaseComment: { messages: true } }',
    }),
    '/tmp/c.yaml',
    {},
  );
  connections = new Map([['demo', config.connections[0]!]]);
  deps = {
    mappings: new Map([['demo/Case', mapping]]),
    store,
    fnWriteQueue: queue,
    sfWriteQueue: openQueue(sfWriteQueue, redis, prefix),
    locks: redisRecordLocks(redis, prefix),
  };
});

let n = 0;
const at = (minute: number) => new Date(Date.UTC(2026, 10, 29, 9, minute)).toISOString();
function job(sfId: string, record: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const notificationId = `n${++n}`;
  return {
    id: `map-demo-${notificationId}`,
    queueName: 'map',
    attemptsMade: 0,
    attemptsStarted: 1,
    data: {
      connectionId: 'demo',
      sfObject: 'Case',
      sfId,
      notificationId,
      record: { Id: sfId, ...record },
      fetchedAt: at(59),
      sfApiCalls: 1,
      ...extra,
    },
  } as never;
}
/** As the worker runs it: the rows still waiting are written when the handler returns. */
async function run(j: never): Promise<string> {
  const ctx = createJobContext(j, { log, connections, timeline: store });
  const result = await mapRecord(j, deps, ctx);
  await ctx.flushStages();
  return result;
}
/** The fetcher's snapshot of a correlation row. */
const snapshotOf = (c: Correlation | null) =>
  c && {
    id: c.id,
    workOrderId: c.workOrderId,
    state: c.state,
    version: c.version,
    lastSfModstamp: c.lastSfModstamp?.toISOString() ?? null,
    lastPayloadHash: c.lastPayloadHash,
  };
/** The PostgreSQL statements `fn` sends (every store statement goes through the pool). */
async function statements<T>(fn: () => Promise<T>): Promise<{ result: T; count: number }> {
  const pool = poolOf(env.prisma);
  const query = pool.query;
  let count = 0;
  pool.query = ((...args: Parameters<typeof query>) => (count++, query.apply(pool, args))) as typeof query;
  try {
    return { result: await fn(), count };
  } finally {
    pool.query = query;
  }
}
const writes = async (sfId: string) => (await queue.getJobs(['waiting', 'delayed'])).filter((j) => j.data.sfId === sfId);

/** A correlation as the writer leaves it after syncing `record` at `modstamp`. */
async function synced(sfId: string, record: Record<string, unknown>, modstamp: string) {
  const { correlation } = await store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId });
  const payload = mapping.mapSync!(record);
  await store.updateCorrelation(correlation.id, correlation.version, {
    workOrderId: 9000 + n,
    state: 'synced',
    lastSfModstamp: new Date(modstamp),
    lastPayload: payload,
    lastPayloadHash: payloadHash(payload),
  });
}

describe('mapper: map-record', () => {
  it('maps a new record into a create job carrying the payload, its hash and the modstamp', async () => {
    const sfId = '500000000000101AAA';
    expect(await run(job(sfId, { Subject: 'Printer jam', Account: { BillingCity: 'Austin' }, SystemModstamp: at(1) }))).toBe('create');
    const [w] = await writes(sfId);
    expect(w!.data).toMatchObject({ payload: { title: 'Printer jam', location: { city: 'Austin' } }, sfModstamp: at(1) });
    expect(w!.data.payloadHash).toBe(payloadHash({ title: 'Printer jam', location: { city: 'Austin' } }));
  });

  it('skips a record whose SystemModstamp is not newer than the last sync', async () => {
    const sfId = '500000000000102AAA';
    await synced(sfId, { Subject: 'A' }, at(10));
    expect(await run(job(sfId, { Subject: 'B', SystemModstamp: at(10) }))).toBe('unchanged');
    expect(await run(job(sfId, { Subject: 'B', SystemModstamp: at(5) }))).toBe('unchanged');
    expect(await writes(sfId)).toHaveLength(0);
    expect(await run(job(sfId, { Subject: 'B', SystemModstamp: at(11) }))).toBe('update');
  });

  it('skips a newer record that maps to the payload already sent, and moves the synced modstamp so older queued writes go stale', async () => {
    const sfId = '500000000000103AAA';
    await synced(sfId, { Subject: 'Same', Account: null }, at(20));
    expect(await run(job(sfId, { Subject: 'Same', Account: null, Description: 'unmapped change', SystemModstamp: at(25) }))).toBe(
      'same-payload',
    );
    expect(await writes(sfId)).toHaveLength(0);
    expect((await store.getCorrelation({ connectionId: 'demo', sfId }))?.lastSfModstamp?.toISOString()).toBe(at(25));
  });

  it('queues the write when the payload is the same but a write for the record is running (A → B → A)', async () => {
    const sfId = '500000000000104AAA';
    await synced(sfId, { Subject: 'A' }, at(30));
    const release = await tryLock(redis, recordLockKey(prefix, 'fnw', 'demo', sfId));
    try {
      expect(await run(job(sfId, { Subject: 'A', SystemModstamp: at(35) }))).toBe('update');
    } finally {
      await release!();
    }
    expect(await writes(sfId)).toHaveLength(1);
  });

  it('fails a record the mapping rejects for good, naming the entry', async () => {
    const err = await run(job('500000000000105AAA', { Subject: null, SystemModstamp: at(40) })).catch((e: Error) => e);
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect((err as Error).message).toMatch(/^mapping failed: .*title/);
    expect(await writes('500000000000105AAA')).toHaveLength(0);
  });

  it("never turns a comment the broker wrote back into a work-order message, and posts a user's", async () => {
    const caseId = '500000000000106AAA';
    await synced(caseId, { Subject: 'Chat' }, at(45));
    const comment = (id: string, createdBy: string) =>
      ({
        id: `map-demo-c${id}`,
        queueName: 'map',
        attemptsMade: 0,
        data: {
          connectionId: 'demo',
          sfObject: 'CaseComment',
          sfId: id,
          notificationId: `nc${id}`,
          record: { Id: id, ParentId: caseId, CommentBody: 'On my way', CreatedById: createdBy, CreatedBy: { Name: 'Dana' } },
          fetchedAt: at(46),
          sfApiCalls: 1,
        },
      }) as never;
    expect(await run(comment('00a000000000201AAA', '005000000000009AAA'))).toBe('skipped'); // 15/18-char ids compare equal
    expect(await run(comment('00a000000000202AAA', '005000000000001AAA'))).toBe('message');
    const posts = (await queue.getJobs(['waiting'])).filter((j) => j.name === 'post-message' && j.data.sfId === caseId);
    expect(posts.map((j) => j.data.caseCommentId)).toEqual(['00a000000000202AAA']);
  });

  it('a create or an update with the snapshot makes no PostgreSQL statement; its row rides in the write job', async () => {
    const sfId = '500000000000107AAA';
    const idOf = (j: never) => (j as { id: string }).id;
    const first = job(sfId, { Subject: 'A', SystemModstamp: at(1) }, { correlation: null });
    expect(await statements(() => run(first))).toEqual({ result: 'create', count: 0 });
    // Without a snapshot: the read, still no commit.
    expect(await statements(() => run(job('500000000000108AAA', { Subject: 'A', SystemModstamp: at(1) })))).toEqual({
      result: 'create',
      count: 1,
    });
    // Another notification of the same state: BullMQ keeps the first job, so this map writes its own row.
    const second = job(sfId, { Subject: 'A', SystemModstamp: at(1) }, { correlation: null });
    expect(await statements(() => run(second))).toEqual({ result: 'create', count: 1 });

    await synced(sfId, { Subject: 'A' }, at(1));
    const row = await store.getCorrelation({ connectionId: 'demo', sfId });
    const update = job(sfId, { Subject: 'B', SystemModstamp: at(2) }, { correlation: snapshotOf(row) });
    expect(await statements(() => run(update))).toEqual({ result: 'update', count: 0 });
    // The paths that queue nothing write their row themselves, as before (the same payload also moves the modstamp).
    const unchanged = job(sfId, { Subject: 'B', SystemModstamp: at(1) }, { correlation: snapshotOf(row) });
    expect(await statements(() => run(unchanged))).toEqual({ result: 'unchanged', count: 1 });
    const same = job(sfId, { Subject: 'A', SystemModstamp: at(3) }, { correlation: snapshotOf(row) });
    expect(await statements(() => run(same))).toEqual({ result: 'same-payload', count: 2 });

    const created = await queue.getJob(`wo-demo-${sfId}-${Date.parse(at(1))}`);
    const updated = await queue.getJob(`wo-demo-${sfId}-${Date.parse(at(2))}`);
    expect(created!.data.stages).toMatchObject([{ stage: 'mapped', outcome: 'ok', message: 'new work order', jobId: idOf(first) }]);
    expect(updated!.data.stages).toMatchObject([{ message: `update of work order ${row!.workOrderId}`, jobId: idOf(update) }]);
    const written = (await store.timeline(sfId)).filter((r) => r.stage === 'mapped').map((r) => `${r.jobId} ${r.outcome}`);
    expect(written).toEqual([`${idOf(second)} ok`, `${idOf(unchanged)} skipped`, `${idOf(same)} skipped`]);
  });
});
