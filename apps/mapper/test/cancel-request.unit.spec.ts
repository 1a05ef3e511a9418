// The mapper's side of cancellation and sync feedback (issue 15), with in-memory fakes: a record
// matching its cancel condition is cancelled instead of updated, with the mapped reason; a cancelled
// work order receives nothing more; a mapping failure carries a short reason for the record.
import { describe, expect, it } from 'vitest';
import { UnrecoverableError } from 'bullmq';
import { fnWriteQueue, sfWriteQueue, type JobDataOf, type mapQueue } from '@broker/contracts';
import { parseConfig } from '@broker/config';
import { compileMapping } from '@broker/mapping';
import { createJobContext, createLogger, feedbackReason } from '@broker/runtime';
import type { Correlation } from '@broker/store';
import { fakeJob, memoryLocks, memoryQueue, memoryTimeline, simConnectionYaml } from '@broker/testing';
import { cancelReasonFor } from '../src/cancel-request';
import { mapRecord, type MapDeps } from '../src/map-record.processor';

const log = createLogger({ service: 'cancel-unit', level: 'silent' });
const config = parseConfig(
  simConnectionYaml({
    salesforceUrl: 'https://example.my.salesforce.com',
    objects:
      '{ Service_Ticket__c: { mapping: x.yaml, writeBack: { syncStatusField: S__c, syncMessageField: M__c }, cancel: { condition: "C__c = true", reason: 58, reasonField: Status__c, reasons: { Closed: 59, Duplicate: "duplicate ticket" } } } }',
  }),
  '/tmp/c.yaml',
  {},
);
const connections = new Map([['demo', config.connections[0]!]]);
const cancel = config.connections[0]!.objects.Service_Ticket__c!.cancel!;
const mapping = compileMapping(
  { object: 'Service_Ticket__c', fields: { title: { from: 'Subject__c', required: true } } },
  { file: 't.yaml' },
);
const TICKET = 'a1S000000000101AAA';
const at = (minute: number) => new Date(Date.UTC(2026, 11, 4, 9, minute)).toISOString();

function setup(correlation?: Partial<Correlation>) {
  const row = correlation
    ? ({
        id: 'c1',
        version: 1,
        connectionId: 'demo',
        sfObject: 'Service_Ticket__c',
        sfId: TICKET,
        state: 'synced',
        ...correlation,
      } as Correlation)
    : null;
  const reads: string[] = [];
  const fnWrite = memoryQueue(fnWriteQueue);
  const sfWrite = memoryQueue(sfWriteQueue);
  const timeline = memoryTimeline();
  const deps: MapDeps = {
    mappings: new Map([['demo/Service_Ticket__c', mapping]]),
    store: {
      getCorrelation: async () => (reads.push(TICKET), row),
      advanceSyncedModstamp: async () => null,
      findMessageLinkByComment: async () => null,
      hasStage: async () => false,
    },
    fnWriteQueue: fnWrite,
    sfWriteQueue: sfWrite,
    locks: memoryLocks(),
  };
  const run = (data: Partial<JobDataOf<typeof mapQueue, 'map-record'>>) => {
    const job = fakeJob(
      {
        connectionId: 'demo',
        sfObject: 'Service_Ticket__c',
        sfId: TICKET,
        notificationId: 'n1',
        fetchedAt: at(59),
        sfApiCalls: 1,
        record: {},
        ...data,
      },
      { id: 'map-demo-n1', queueName: 'map' },
    );
    return mapRecord(job as never, deps, createJobContext(job, { log, connections, timeline }));
  };
  return { run, fnWrite, sfWrite, timeline, reads };
}

describe('mapper: cancellation', () => {
  it('queues a cancel instead of an update, one job per work order and record state, with the mapped reason', async () => {
    const { run, fnWrite } = setup({ workOrderId: 77, lastSfModstamp: new Date(at(1)) });
    const record = { Subject__c: 'x', Status__c: 'Closed', SystemModstamp: at(2) };
    expect(await run({ record, cancelRequested: true })).toBe('cancel');
    expect(await run({ record, cancelRequested: true })).toBe('cancel');
    expect(fnWrite.jobs).toHaveLength(1);
    expect(fnWrite.jobs[0]).toMatchObject({
      name: 'cancel-work-order',
      data: { workOrderId: 77, reason: 59, sfObject: 'Service_Ticket__c' },
      opts: { jobId: `cancel-demo-${TICKET}-77-${Date.parse(at(2))}` },
    });
  });

  it('maps the reason from the record, else the default', () => {
    expect(cancelReasonFor(cancel, { Status__c: 'Duplicate' })).toBe('duplicate ticket');
    expect(cancelReasonFor(cancel, { Status__c: 'Open' })).toBe(58);
    expect(cancelReasonFor(cancel, { Status__c: null })).toBe(58);
    expect(cancelReasonFor({ ...cancel, reasonField: undefined }, { Status__c: 'Closed' })).toBe(58);
  });

  it('creates nothing for a record with no work order that asks for a cancel, and says so on the record', async () => {
    const { run, fnWrite, sfWrite } = setup();
    expect(await run({ record: { Subject__c: 'x', SystemModstamp: at(3) }, cancelRequested: true })).toBe('cancel-without-work-order');
    expect(fnWrite.jobs).toHaveLength(0);
    expect(sfWrite.jobs.map((j) => (j.data as { fields: unknown }).fields)).toEqual([
      { S__c: 'Failed', M__c: 'Cancel requested, but there is no work order to cancel: none was created' },
    ]);
  });

  it("reads the row when the fetcher's snapshot has no work order: one may have been created since, and nothing checks again", async () => {
    const { run, fnWrite, sfWrite, reads } = setup({ workOrderId: 78, lastSfModstamp: new Date(at(1)) });
    const snapshot = { id: 'c1', workOrderId: null, state: 'claimed', version: 0, lastSfModstamp: null, lastPayloadHash: null };
    const record = { Subject__c: 'x', Status__c: 'Closed', SystemModstamp: at(7) };
    expect(await run({ record, cancelRequested: true, correlation: snapshot })).toBe('cancel');
    expect(reads).toHaveLength(1);
    expect(fnWrite.jobs).toMatchObject([{ name: 'cancel-work-order', data: { workOrderId: 78 } }]);
    expect(sfWrite.jobs).toHaveLength(0);
    // A snapshot that names the work order is enough: the writer checks it is still the record's.
    const named = setup({ workOrderId: 79 });
    expect(await named.run({ record, cancelRequested: true, correlation: { ...snapshot, workOrderId: 79, state: 'synced' } })).toBe(
      'cancel',
    );
    expect(named.reads).toHaveLength(0);
  });

  it('sends nothing more for a cancelled work order', async () => {
    const { run, fnWrite, timeline } = setup({ workOrderId: 77, state: 'cancelled', lastSfModstamp: new Date(at(1)) });
    expect(await run({ record: { Subject__c: 'changed', SystemModstamp: at(4) } })).toBe('cancelled');
    expect(await run({ record: { Subject__c: 'changed', SystemModstamp: at(5) }, cancelRequested: true })).toBe('cancelled');
    expect(fnWrite.jobs).toHaveLength(0);
    expect(timeline.of('mapped', 'skipped')[0]!.message).toBe("work order 77 was cancelled: the record's changes are not sent");
  });

  it('a mapping failure is permanent and carries a short reason without the file path', async () => {
    const { run } = setup();
    const err = await run({ record: { Subject__c: null, SystemModstamp: at(6) } }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect((err as Error).message).toMatch(/^mapping failed: t\.yaml: title: required value is missing/);
    expect(feedbackReason(err as Error)).toBe('Mapping: title: required value is missing: Subject__c is null');
  });
});
