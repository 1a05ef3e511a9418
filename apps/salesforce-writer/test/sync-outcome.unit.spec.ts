// Sync outcomes on the record (issue 15) as the salesforce-writer applies them, with in-memory fakes:
// an older outcome never overwrites a newer one, a failure the record already shows is not written
// again (no call, and no loop through someone's automation), a record that is gone is skipped.
import { describe, expect, it } from 'vitest';
import { UnrecoverableError } from 'bullmq';
import { parseConfig } from '@broker/config';
import { createJobContext, createLogger } from '@broker/runtime';
import type { CompositeResult, CompositeSubrequest } from '@broker/salesforce/client';
import { fakeJob, memoryKeyValue, memoryLocks, memoryTimeline, simConnectionYaml } from '@broker/testing';
import { writeRecord, type SfWriterClient, type SfWriterDeps } from '../src/write-record.processor';

const log = createLogger({ service: 'sfw-outcome', level: 'silent' });
const config = parseConfig(simConnectionYaml({ salesforceUrl: 'https://example.my.salesforce.com' }), '/tmp/c.yaml', {});
const connections = new Map([['demo', config.connections[0]!]]);
const TICKET = 'a1S000000000001AAA';

function setup(answer?: (rs: CompositeSubrequest[]) => CompositeResult[]) {
  const sent: CompositeSubrequest[][] = [];
  const client = {
    userId: '005000000000001AAA',
    awaitBudget: async () => undefined,
    query: async () => ({ records: [], totalSize: 0 }),
    composite: async (requests: CompositeSubrequest[]) => {
      sent.push(requests);
      return answer
        ? answer(requests)
        : requests.map((r) => ({ referenceId: r.referenceId, httpStatusCode: 204, body: null, httpHeaders: {} }));
    },
  } as unknown as SfWriterClient;
  const timeline = memoryTimeline();
  const processed = new Set<string>();
  const deps: SfWriterDeps = {
    clients: new Map([['demo', client]]),
    store: {
      wasInboundProcessed: async (_c: string, _s: string, id: string) => processed.has(id),
      markInboundProcessed: async (e: { notificationId: string }) => void processed.add(e.notificationId),
    } as unknown as SfWriterDeps['store'],
    locks: memoryLocks(),
    redis: memoryKeyValue(),
    prefix: 'unit',
  };
  let n = 0;
  const write = (
    status: 'synced' | 'failed' | 'cancelled',
    at: string,
    fields: Record<string, unknown>,
    signature = `${status}|7|`,
    rewrite = status === 'synced',
  ) => {
    const job = fakeJob(
      {
        connectionId: 'demo',
        sfObject: 'Service_Ticket__c',
        sfId: TICKET,
        fields,
        outcome: { status, at, signature, rewrite },
        cause: { kind: 'sync-feedback', id: `k${++n}` },
      },
      { id: `fb-${n}`, queueName: 'sf.write' },
    );
    return writeRecord(job as never, deps, createJobContext(job, { log, connections, timeline }));
  };
  return { sent, timeline, write };
}

const failed = { Field_Nation_Sync_Status__c: 'Failed', Field_Nation_Sync_Message__c: 'Field Nation refused it (422): title: is required' };
const synced = {
  Field_Nation_Sync_Status__c: 'Synced',
  Field_Nation_Sync_Message__c: null,
  Field_Nation_Last_Sync__c: '2026-12-04T10:00:05.000Z',
};

describe('salesforce-writer: sync outcomes', () => {
  it('writes each outcome in one composite call, and never lets an older outcome overwrite a newer one', async () => {
    const { sent, timeline, write } = setup();
    expect(await write('failed', '2026-12-04T10:00:00.000Z', failed, 'failed||Field Nation refused it')).toBe('written');
    expect(await write('synced', '2026-12-04T10:00:05.000Z', synced)).toBe('written');
    // The failure decided first but delivered last (jobs of one record can run out of order).
    expect(await write('failed', '2026-12-04T10:00:01.000Z', failed, 'failed||other')).toBe('outcome-unchanged');
    expect(sent.map((r) => r.map((s) => [s.method, s.body]))).toEqual([[['PATCH', failed]], [['PATCH', synced]]]);
    expect(timeline.of('sf-written', 'skipped')[0]!.message).toMatch(/newer sync outcome/);
    expect(timeline.of('sf-written', 'ok').map((r) => r.sfApiCalls)).toEqual([1, 1]);
  });

  it('writes an outcome the record already shows once (a failure, a plain success); a rewritten success always', async () => {
    const { sent, write } = setup();
    const sig = 'failed||Not triggered';
    expect(await write('failed', '2026-12-04T10:00:00.000Z', failed, sig)).toBe('written');
    expect(await write('failed', '2026-12-04T10:01:00.000Z', failed, sig)).toBe('outcome-unchanged');
    expect(sent).toHaveLength(1);
    expect(await write('synced', '2026-12-04T10:02:00.000Z', synced)).toBe('written');
    expect(await write('failed', '2026-12-04T10:03:00.000Z', failed, sig)).toBe('written');
    // A success that stamps the time or resets the checkbox is always written; one that only says
    // Synced and the work order id is written when the record does not show it yet.
    expect(await write('synced', '2026-12-04T10:04:00.000Z', synced)).toBe('written');
    expect(await write('synced', '2026-12-04T10:05:00.000Z', synced)).toBe('written');
    expect(sent).toHaveLength(5);
    const plain = { Field_Nation_Sync_Status__c: 'Synced', Field_Nation_Work_Order_Id__c: '7' };
    expect(await write('synced', '2026-12-04T10:06:00.000Z', plain, 'synced|7|', false)).toBe('outcome-unchanged');
    expect(await write('synced', '2026-12-04T10:07:00.000Z', plain, 'synced|8|', false)).toBe('written');
    expect(sent).toHaveLength(6);
    // A skipped outcome still dates what the record shows: a failure decided before it stays out.
    expect(await write('synced', '2026-12-04T10:09:00.000Z', plain, 'synced|8|', false)).toBe('outcome-unchanged');
    expect(await write('failed', '2026-12-04T10:08:00.000Z', failed, 'failed|8|late')).toBe('outcome-unchanged');
    expect(sent).toHaveLength(6);
  });

  it('skips the outcome of a record that is gone, but fails other errors for good', async () => {
    const gone = setup((rs) =>
      rs.map((r) => ({
        referenceId: r.referenceId,
        httpStatusCode: 404,
        body: [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }],
        httpHeaders: {},
      })),
    );
    expect(await gone.write('failed', '2026-12-04T10:00:00.000Z', failed)).toBe('record-gone');
    expect(gone.timeline.of('sf-written', 'skipped')[0]).toMatchObject({ sfApiCalls: 1 });
    const invalid = setup((rs) =>
      rs.map((r) => ({
        referenceId: r.referenceId,
        httpStatusCode: 400,
        body: [{ errorCode: 'INVALID_FIELD', message: 'No such column' }],
        httpHeaders: {},
      })),
    );
    await expect(invalid.write('synced', '2026-12-04T10:00:00.000Z', synced)).rejects.toBeInstanceOf(UnrecoverableError);
  });
});
