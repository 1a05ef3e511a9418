// The mapper's decisions with in-memory fakes (no Redis, no PostgreSQL): what it hands the writer,
// when it skips, and what it records. map-record.processor.spec.ts covers the same processor
// against the real store and Redis locks.
import { describe, expect, it } from 'vitest';
import { UnrecoverableError } from 'bullmq';
import { fnWriteQueue, sfWriteQueue, type JobDataOf, type mapQueue } from '@broker/contracts';
import { parseConfig } from '@broker/config';
import { compileMapping, payloadHash } from '@broker/mapping';
import { createJobContext, createLogger, UnknownConnectionError } from '@broker/runtime';
import type { Correlation } from '@broker/store';
import { fakeJob, memoryLocks, memoryQueue, memoryTimeline, simConnectionYaml } from '@broker/testing';
import { mapRecord, type MapDeps } from '../src/map-record.processor';

const log = createLogger({ service: 'map-unit', level: 'silent' });
const config = parseConfig(
  simConnectionYaml({
    salesforceUrl: 'https://example.my.salesforce.com',
    objects: '{ Case: { mapping: x.yaml }, CaseComment: { messages: true } }',
    salesforceExtra: '      integrationUserId: "005000000000009"',
  }),
  '/tmp/c.yaml',
  {},
);
const connections = new Map([['demo', config.connections[0]!]]);
const mapping = compileMapping(
  { object: 'Case', fields: { title: { from: 'Subject', required: true }, 'location.city': { from: 'Account.BillingCity' } } },
  { file: 'case.yaml' },
);
const CASE = '500000000000101AAA';
const at = (minute: number) => new Date(Date.UTC(2026, 10, 29, 9, minute)).toISOString();

function setup(correlations: Partial<Correlation>[] = []) {
  const rows = correlations.map(
    (c, i) => ({ id: `c${i}`, version: 1, connectionId: 'demo', sfObject: 'Case', state: 'synced', ...c }) as Correlation,
  );
  const advanced: string[] = [];
  const reads: string[] = [];
  /** The timeline rows the store "holds" for hasStage (written by a writer, say). */
  const stored: { jobId: string; stage: string; message?: string }[] = [];
  const store: MapDeps['store'] = {
    getCorrelation: async (k) => (reads.push(k.sfId), rows.find((r) => r.sfId === k.sfId) ?? null),
    advanceSyncedModstamp: async (id) => (advanced.push(id), rows[0]!),
    findMessageLinkByComment: async () => null,
    hasStage: async (e) =>
      stored.some((r) => r.jobId === e.jobId && r.stage === e.stage && (e.message === undefined || r.message === e.message)),
  };
  const queue = memoryQueue(fnWriteQueue);
  const timeline = memoryTimeline();
  const locks = memoryLocks();
  const deps: MapDeps = {
    mappings: new Map([['demo/Case', mapping]]),
    store,
    fnWriteQueue: queue,
    sfWriteQueue: memoryQueue(sfWriteQueue),
    locks,
  };
  /** Runs the job as the worker does: the rows still waiting are written when the handler returns. */
  const run = async (data: Partial<JobDataOf<typeof mapQueue, 'map-record'>>, options: { id?: string; attemptsStarted?: number } = {}) => {
    const job = fakeJob(
      { connectionId: 'demo', sfObject: 'Case', sfId: CASE, notificationId: 'n1', fetchedAt: at(59), sfApiCalls: 1, record: {}, ...data },
      { id: options.id ?? 'map-demo-n1', queueName: 'map', attemptsStarted: options.attemptsStarted },
    );
    const ctx = createJobContext(job, { log, connections, timeline });
    const result = await mapRecord(job as never, deps, ctx);
    await ctx.flushStages();
    return result;
  };
  return { run, queue, timeline, locks, advanced, reads, stored };
}

type WriteData = JobDataOf<typeof fnWriteQueue, 'write-work-order'>;
const snapshotOf = (c: Partial<Correlation>) => ({
  id: c.id ?? 'c0',
  workOrderId: c.workOrderId ?? null,
  state: c.state ?? 'synced',
  version: c.version ?? 1,
  lastSfModstamp: c.lastSfModstamp?.toISOString() ?? null,
  lastPayloadHash: c.lastPayloadHash ?? null,
});

describe('mapper: map-record (unit)', () => {
  it('maps a new record into one create job keyed by record and modstamp', async () => {
    const { run, queue, timeline } = setup();
    const record = { Id: CASE, Subject: 'Printer jam', Account: { BillingCity: 'Austin' }, SystemModstamp: at(1) };
    expect(await run({ record })).toBe('create');
    expect(queue.jobs).toHaveLength(1);
    expect(queue.jobs[0]).toMatchObject({
      name: 'write-work-order',
      data: {
        payload: { title: 'Printer jam', location: { city: 'Austin' } },
        payloadHash: payloadHash({ title: 'Printer jam', location: { city: 'Austin' } }),
        sfModstamp: at(1),
      },
      opts: { jobId: `wo-demo-${CASE}-${Date.parse(at(1))}` },
    });
    // The mapped row rides in the job (the writer writes it with its claim): none written here.
    expect((queue.jobs[0]!.data as WriteData).stages).toMatchObject([
      { stage: 'mapped', outcome: 'ok', sfId: CASE, message: 'new work order', queue: 'map', jobId: 'map-demo-n1' },
    ]);
    expect(timeline.rows).toEqual([]);
  });

  it("carries the row with the mapping's time, and with the work order it updates", async () => {
    const { run, queue } = setup([{ sfId: CASE, workOrderId: 9010, lastSfModstamp: new Date(at(1)) }]);
    const before = Date.now();
    expect(await run({ record: { Id: CASE, Subject: 'Two printers', SystemModstamp: at(2) } })).toBe('update');
    const [row] = (queue.jobs[0]!.data as WriteData).stages!;
    expect(row).toMatchObject({ connectionId: 'demo', workOrderId: 9010, message: 'update of work order 9010' });
    expect(Date.parse(row!.at)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(row!.at)).toBeLessThanOrEqual(Date.now());
  });

  it("decides from the fetcher's snapshot without reading the row, and reads it when the job has none", async () => {
    const synced = { sfId: CASE, workOrderId: 9011, lastSfModstamp: new Date(at(10)) };
    const withSnapshot = setup([synced]);
    const record = { Id: CASE, Subject: 'B', SystemModstamp: at(12) };
    // The snapshot (read at the fetch) says no row yet: the mapper goes by it.
    expect(await withSnapshot.run({ record, correlation: null })).toBe('create');
    expect(await withSnapshot.run({ record: { ...record, SystemModstamp: at(10) }, correlation: snapshotOf(synced) })).toBe('unchanged');
    expect(withSnapshot.reads).toEqual([]);

    const without = setup([synced]);
    expect(await without.run({ record })).toBe('update');
    expect(without.reads).toEqual([CASE]);
  });

  it("writes its row itself when the write job kept is another notification's (same record state)", async () => {
    const { run, queue, timeline } = setup();
    const record = { Id: CASE, Subject: 'Printer jam', SystemModstamp: at(20) };
    expect(await run({ record, notificationId: 'n1' }, { id: 'map-demo-n1' })).toBe('create');
    expect(await run({ record, notificationId: 'n2' }, { id: 'map-demo-n2' })).toBe('create');
    expect(queue.jobs).toHaveLength(1); // BullMQ kept the first add
    expect((queue.jobs[0]!.data as WriteData).stages!.map((r) => r.jobId)).toEqual(['map-demo-n1']);
    expect(timeline.of('mapped', 'ok')).toMatchObject([{ jobId: 'map-demo-n2', message: 'new work order' }]);
  });

  it('run again, adds no row twice: the job it queued before carries it, or its row is written already', async () => {
    const { run, queue, timeline, stored } = setup();
    const record = { Id: CASE, Subject: 'Printer jam', SystemModstamp: at(30) };
    expect(await run({ record })).toBe('create');
    // A stalled job runs again before the writer ran: the job queued first carries the row.
    expect(await run({ record }, { attemptsStarted: 2 })).toBe('create');
    expect(queue.jobs).toHaveLength(1);
    expect((queue.jobs[0]!.data as WriteData).stages).toHaveLength(1);
    expect(timeline.rows).toEqual([]);

    // After the writer wrote it and its job was removed: the new job carries nothing.
    queue.jobs.length = 0;
    stored.push({ jobId: 'map-demo-n1', stage: 'mapped', message: 'new work order' });
    expect(await run({ record }, { attemptsStarted: 3 })).toBe('create');
    expect(queue.jobs).toHaveLength(1);
    expect((queue.jobs[0]!.data as WriteData).stages).toBeUndefined();
    expect(timeline.rows).toEqual([]);
  });

  it('skips a record whose SystemModstamp is not newer than the last sync, queuing nothing', async () => {
    const { run, queue, timeline } = setup([{ sfId: CASE, workOrderId: 9001, lastSfModstamp: new Date(at(10)) }]);
    expect(await run({ record: { Id: CASE, Subject: 'B', SystemModstamp: at(10) } })).toBe('unchanged');
    expect(queue.jobs).toHaveLength(0);
    expect(timeline.of('mapped', 'skipped')).toMatchObject([{ workOrderId: 9001 }]);
  });

  it('skips the same payload under the writer lock, and queues it when a write holds the lock', async () => {
    const payload = { title: 'Same' };
    const synced = { sfId: CASE, workOrderId: 9002, lastSfModstamp: new Date(at(1)), lastPayloadHash: payloadHash(payload) };
    const idle = setup([synced]);
    expect(await idle.run({ record: { Id: CASE, Subject: 'Same', SystemModstamp: at(5) } })).toBe('same-payload');
    expect(idle.advanced).toEqual(['c0']);
    expect(idle.locks.held.size).toBe(0); // released

    const busy = setup([synced]);
    const release = await busy.locks.tryLock('fnw', 'demo', CASE);
    expect(await busy.run({ record: { Id: CASE, Subject: 'Same', SystemModstamp: at(6) } })).toBe('update');
    expect(busy.queue.jobs).toHaveLength(1);
    await release!();
  });

  it('fails a record the mapping cannot map for good, with the mapping reason', async () => {
    const { run } = setup();
    const err = await run({ record: { Id: CASE, SystemModstamp: at(2) } }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect(err).toMatchObject({ reason: 'mapping', message: expect.stringContaining('title') });
  });

  it("never turns the integration user's own comment into a message (15- and 18-character ids compared)", async () => {
    const { run, queue, timeline } = setup([{ sfId: CASE, workOrderId: 9003 }]);
    const comment = (by: string) => ({
      sfObject: 'CaseComment',
      sfId: '00a000000000001AAA',
      record: { ParentId: CASE, CommentBody: 'hi', CreatedById: by },
    });
    expect(await run(comment('005000000000009AAA'))).toBe('skipped');
    expect(timeline.of('message', 'skipped')[0]!.message).toMatch(/written by the broker/);
    expect(await run(comment('005000000000008AAA'))).toBe('message');
    expect(queue.jobs).toMatchObject([{ name: 'post-message', data: { workOrderId: 9003, body: 'hi' } }]);
  });

  it('fails a job of an unknown connection for good', async () => {
    const { run } = setup();
    await expect(run({ connectionId: 'gone' })).rejects.toBeInstanceOf(UnknownConnectionError);
  });
});
