import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { defineQueue, fetchJobId, sfFetchQueue } from '@broker/contracts';
import { openQueue } from '@broker/runtime';
import { redisUrl } from '@broker/testing';
import { makeId } from '@broker/salesforce';
import { Packr } from 'msgpackr';
import { ADD_STANDARD_JOBS_SPLIT, createStandardJobWriter, packAround, packWith, splitScript } from '../src/standard-job-writer';

// The writer must leave Redis exactly as Queue.addBulk leaves it (the fetcher, bull-board and
// BullMQ's own maintenance read these keys): each case runs the same adds through both on two
// queues of the same contract and compares every key the adds touched.

let redis: Redis;
const queues: Queue[] = [];
const run = `sjw${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
let n = 0;

beforeAll(() => {
  redis = new Redis(redisUrl(), { enableAutoPipelining: true, maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  for (const q of queues) {
    await q.obliterate({ force: true }).catch(() => undefined);
    await q.close().catch(() => undefined);
  }
  redis.disconnect();
});

async function pair() {
  const prefixes = [`${run}a${n}`, `${run}b${n}`];
  n++;
  const [viaBullmq, viaWriter] = prefixes.map((p) => openQueue(sfFetchQueue, redis, p));
  queues.push(viaBullmq!, viaWriter!);
  await Promise.all([viaBullmq!.waitUntilReady(), viaWriter!.waitUntilReady()]);
  return { viaBullmq: viaBullmq!, viaWriter: viaWriter!, writer: createStandardJobWriter(viaWriter!) };
}

const payload = (i: number, extra: Record<string, string | null> = {}) => ({
  connectionId: 'demo',
  sfObject: 'Case',
  sfId: makeId('500', i),
  notificationId: makeId('04l', i),
  source: 'outbound-message' as const,
  receivedAt: '2026-12-05T01:02:03.456Z',
  snapshot: { Id: makeId('500', i), Status: 'New', ...extra },
});
const jobOf = (i: number, extra?: Record<string, string | null>) => {
  const data = payload(i, extra);
  return { name: 'fetch-record' as const, data, opts: { jobId: fetchJobId.outboundMessage(data.connectionId, data.notificationId) } };
};

/** Every key under the queue's prefix, with its content; ids, timestamps and the prefix made comparable. */
async function stateOf(queue: Queue): Promise<Record<string, unknown>> {
  const prefix = `${queue.opts.prefix}:${queue.name}:`;
  const keys = (await redis.keys(`${queue.opts.prefix}:*`)).sort();
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const name = key.slice(prefix.length);
    const type = await redis.type(key);
    if (type === 'hash') {
      const h = await redis.hgetall(key);
      if (h.timestamp) h.timestamp = '<timestamp>';
      // The options as the worker reads them (cjson's key order is the Lua table's, not the client's).
      if (h.opts) h.opts = JSON.parse(h.opts) as never;
      out[name] = h;
    } else if (type === 'list') out[name] = await redis.lrange(key, 0, -1);
    else if (type === 'zset') out[name] = (await redis.zrange(key, 0, -1, 'WITHSCORES')).map((v, i) => (i % 2 ? '<score>' : v));
    else if (type === 'stream') out[name] = (await redis.xrange(key, '-', '+')).map(([, fields]) => fields);
    else if (type === 'string') out[name] = await redis.get(key);
    else out[name] = type;
  }
  return out;
}

describe('packAround / packWith (the job id packed into encodings made once)', () => {
  const packer = new Packr({ useRecords: false, encodeUndefinedAsNil: true });
  // msgpack's string size classes (fixstr < 32 bytes, str8 < 256, str16 < 65536, str32) and non-ASCII text.
  const ids = ['a', 'x'.repeat(31), 'x'.repeat(32), 'y'.repeat(255), 'y'.repeat(256), 'z'.repeat(70_000), 'é'.repeat(20), '🛠'.repeat(70)];
  it.each(ids.map((id) => [id.length, id]))('packs an id of %i characters as msgpackr packs the whole value', (_length, id) => {
    const args = (v: string) => ['bull:sf.fetch:', v, 'fetch-record', 1_764_900_000_123, null, null, undefined, undefined, null];
    const opts = (v: string) => ({ attempts: 8, backoff: { type: 'exponential', delay: 1_000, jitter: 0.5 }, jobId: v });
    expect(packWith(packAround(args('\u0000hole'), '\u0000hole'), id).equals(packer.pack(args(id)))).toBe(true);
    expect(packWith(packAround(opts('\u0000hole'), '\u0000hole'), id).equals(packer.pack(opts(id)))).toBe(true);
  });
  it('refuses a hole that is not in the value exactly once', () => {
    expect(() => packAround(['a', 'b'], 'c')).toThrow(/exactly once/);
    expect(() => packAround(['c', 'c'], 'c')).toThrow(/exactly once/);
  });
});

describe('splitScript', () => {
  it('splits the pinned BullMQ addStandardJob into helpers defined once per call and its body', () => {
    expect(ADD_STANDARD_JOBS_SPLIT).toBe(true);
  });
  it('leaves whole a text whose helpers nest, do not end, or read KEYS or ARGV', () => {
    expect(splitScript('local x = 1\nlocal function f(a)\n  return a\nend\nreturn f(x)')).toEqual({
      helpers: 'local function f(a)\n  return a\nend',
      body: 'local x = 1\nreturn f(x)',
    });
    expect(splitScript('local function f(a)\nlocal function g(b)\nend\nend')).toBeUndefined();
    expect(splitScript('local function f(a)\n  return a')).toBeUndefined();
    expect(splitScript('local function f()\n  return KEYS[1]\nend')).toBeUndefined();
    expect(splitScript('return 1')).toBeUndefined();
  });
});

describe('standard job writer', () => {
  it('stores jobs exactly as Queue.addBulk does (job hashes, wait list, marker, events, counters)', async () => {
    const { viaBullmq, viaWriter, writer } = await pair();
    // Long values and non-ASCII text: the packed arguments and the JSON cross msgpack's size classes.
    const jobs = [jobOf(1), jobOf(2, { Subject: 'Pièce détachée — 🛠', Description: null }), jobOf(3, { Long: 'x'.repeat(300) })];
    await viaBullmq.addBulk(jobs);
    const ids = await writer.add(
      'fetch-record',
      jobs.map((j) => ({ jobId: j.opts.jobId, data: JSON.stringify(j.data) })),
    );
    expect(ids).toEqual(jobs.map((j) => j.opts.jobId));
    const expected = await stateOf(viaBullmq);
    expect(Object.keys(expected)).toContain(`om-demo-${makeId('04l', 2)}`);
    expect(await stateOf(viaWriter)).toEqual(expected);

    // As the worker reads a job: same data, name and options as one added by BullMQ.
    const a = await Job.fromId(viaBullmq, jobs[1]!.opts.jobId);
    const b = await Job.fromId(viaWriter, jobs[1]!.opts.jobId);
    expect(b!.data).toEqual(jobs[1]!.data);
    expect({ name: b!.name, data: b!.data, opts: b!.opts }).toEqual({ name: a!.name, data: a!.data, opts: a!.opts });
    expect(b!.opts).toMatchObject({ attempts: 8, backoff: sfFetchQueue.defaultJobOptions.backoff });
  });

  it('keeps an existing job as BullMQ does when an id is added again (a redelivery), in the same call or a later one', async () => {
    const { viaBullmq, viaWriter, writer } = await pair();
    const first = [jobOf(10), jobOf(11)];
    const again = [jobOf(11, { Status: 'Changed' }), jobOf(12), jobOf(12, { Status: 'Twice in one message' })];
    const toWriter = (js: typeof first) => js.map((j) => ({ jobId: j.opts.jobId, data: JSON.stringify(j.data) }));
    await viaBullmq.addBulk(first);
    await viaBullmq.addBulk(again);
    await writer.add('fetch-record', toWriter(first));
    expect(await writer.add('fetch-record', toWriter(again))).toEqual(again.map((j) => j.opts.jobId));
    expect(await stateOf(viaWriter)).toEqual(await stateOf(viaBullmq));
    expect((await Job.fromId(viaWriter, first[1]!.opts.jobId))!.data.snapshot.Status).toBe('New');
  });

  it('adds to the paused list of a paused queue, as BullMQ does', async () => {
    const { viaBullmq, viaWriter, writer } = await pair();
    await viaBullmq.pause();
    await viaWriter.pause();
    const jobs = [jobOf(20), jobOf(21)];
    await viaBullmq.addBulk(jobs);
    await writer.add(
      'fetch-record',
      jobs.map((j) => ({ jobId: j.opts.jobId, data: JSON.stringify(j.data) })),
    );
    const state = await stateOf(viaWriter);
    expect(state.paused).toHaveLength(2);
    expect(state).toEqual(await stateOf(viaBullmq));
  });

  it('adds on an auto-pipelined connection whose pending pipeline was opened before the first add, and when Redis lacks the script', async () => {
    // The ingress's connection auto-pipelines: commands of one event-loop turn share a pipeline, which
    // knows only the commands the connection had when it was opened.
    const fresh = new Redis(redisUrl(), { enableAutoPipelining: true, maxRetriesPerRequest: 1 });
    const queue = openQueue(sfFetchQueue, fresh, `${run}p${n++}`);
    try {
      await queue.waitUntilReady();
      const writer = createStandardJobWriter(queue);
      const one = (i: number) => [{ jobId: jobOf(i).opts.jobId, data: JSON.stringify(payload(i)) }];
      const pending = fresh.get(`${run}:nothing`);
      expect(await writer.add('fetch-record', one(40))).toEqual(one(40).map((j) => j.jobId));
      await pending;
      // As after a Redis restart (its script cache empty), without flushing the shared server's cache:
      // the first EVALSHA names a script Redis does not have, and Redis answers NOSCRIPT.
      const evalsha = fresh.evalsha.bind(fresh) as (...args: unknown[]) => Promise<unknown>;
      let calls = 0;
      (fresh as unknown as { evalsha: (...args: unknown[]) => Promise<unknown> }).evalsha = (sha, ...rest) =>
        evalsha(calls++ === 0 ? 'f'.repeat(40) : sha, ...rest);
      expect(await writer.add('fetch-record', one(41))).toEqual(one(41).map((j) => j.jobId));
      expect(calls).toBe(1);
      expect(await queue.getJobCountByTypes('waiting')).toBe(2);
    } finally {
      // Its own connection: removed before it closes (afterAll's cleanup would find it closed).
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close().catch(() => undefined);
      fresh.disconnect();
    }
  });

  it('refuses ids BullMQ refuses, before storing anything', async () => {
    const { viaWriter, writer } = await pair();
    const data = JSON.stringify(payload(30));
    await expect(
      writer.add('fetch-record', [
        { jobId: 'om-ok', data },
        { jobId: '123', data },
      ]),
    ).rejects.toThrow(/integer/);
    await expect(writer.add('fetch-record', [{ jobId: 'a:b', data }])).rejects.toThrow(/":"/);
    expect(await viaWriter.getJobCountByTypes('waiting', 'paused')).toBe(0);
  });

  it('refuses a queue whose defaults need another add script (delay, priority)', () => {
    for (const defaults of [{ delay: 1_000 }, { priority: 3 }]) {
      const q = new Queue('sf.fetch', { connection: redis, prefix: `${run}x`, defaultJobOptions: defaults });
      queues.push(q);
      expect(() => createStandardJobWriter(q)).toThrow(/plain jobs only/);
    }
    const contract = defineQueue('plain', {}, { attempts: 2 });
    const plain = openQueue(contract, redis, `${run}y`);
    queues.push(plain);
    expect(() => createStandardJobWriter(plain)).not.toThrow();
  });
});
