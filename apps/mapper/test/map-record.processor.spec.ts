import { beforeAll, describe, expect, it } from 'vitest';
import { UnrecoverableError } from 'bullmq';
import { fnWriteQueue, sfWriteQueue } from '@broker/contracts';
import { parseConfig, type ConnectionConfig } from '@broker/config';
import { compileMapping, payloadHash } from '@broker/mapping';
import { createJobContext, openQueue, recordLockKey, redisRecordLocks, tryLock } from '@broker/runtime';
import type { Store } from '@broker/store';
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
function job(sfId: string, record: Record<string, unknown>) {
  const notificationId = `n${++n}`;
  return {
    id: `map-demo-${notificationId}`,
    queueName: 'map',
    attemptsMade: 0,
    data: {
      connectionId: 'demo',
      sfObject: 'Case',
      sfId,
      notificationId,
      record: { Id: sfId, ...record },
      fetchedAt: at(59),
      sfApiCalls: 1,
    },
  } as never;
}
const run = (j: never) => mapRecord(j, deps, createJobContext(j, { log, connections, timeline: store }));
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
});
