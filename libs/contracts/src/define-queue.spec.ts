import { describe, expect, it } from 'vitest';
import { jobId, parsePayload, PayloadError } from './define-queue';
import { sfFetchQueue, fnWriteQueue, mapQueue, type JobOf } from './index';

describe('contracts', () => {
  it('rejects a bad payload naming each bad path', () => {
    expect(() => parsePayload(sfFetchQueue, 'fetch-record', { connectionId: 'demo', sfObject: 'Case', sfId: 'short' })).toThrowError(
      PayloadError,
    );
    try {
      parsePayload(sfFetchQueue, 'fetch-record', { connectionId: 'demo', sfObject: 'Case', sfId: 'short' });
    } catch (err) {
      const e = err as PayloadError;
      expect(e.issues.join('\n')).toMatch(/sfId/);
      expect(e.issues.join('\n')).toMatch(/notificationId/);
      expect(e.issues.join('\n')).toMatch(/receivedAt/);
    }
  });

  it('accepts a good payload and fills defaults', () => {
    const data = parsePayload(sfFetchQueue, 'fetch-record', {
      connectionId: 'demo',
      sfObject: 'Case',
      sfId: '500000000000001AAA',
      notificationId: '04l000000000001AAA',
      source: 'outbound-message',
      receivedAt: new Date().toISOString(),
    });
    expect(data.snapshot).toEqual({});
  });

  it("carries the fetcher's correlation snapshot to the mapper: absent (not read), null (no row), or the row's fields", () => {
    const base = {
      connectionId: 'demo',
      sfObject: 'Case',
      sfId: '500000000000001AAA',
      notificationId: '04l000000000001AAA',
      record: { Id: '500000000000001AAA' },
      fetchedAt: '2026-12-04T09:00:00.000Z',
      sfApiCalls: 1,
    };
    expect(parsePayload(mapQueue, 'map-record', base).correlation).toBeUndefined();
    expect(parsePayload(mapQueue, 'map-record', { ...base, correlation: null }).correlation).toBeNull();
    const correlation = {
      id: '2f1c1a5e-6d1b-4a57-9a53-1f0e8d4b2c11',
      workOrderId: 4242,
      state: 'synced',
      version: 3,
      lastSfModstamp: '2026-12-04T08:59:00.000Z',
      lastPayloadHash: 'abc',
    };
    expect(parsePayload(mapQueue, 'map-record', { ...base, correlation }).correlation).toEqual(correlation);
    const claimed = { ...correlation, workOrderId: null, state: 'claimed', version: 0, lastSfModstamp: null, lastPayloadHash: null };
    expect(parsePayload(mapQueue, 'map-record', { ...base, correlation: claimed }).correlation).toEqual(claimed);
    expect(() =>
      parsePayload(mapQueue, 'map-record', { ...base, correlation: { ...correlation, lastSfModstamp: 'yesterday' } }),
    ).toThrowError(/correlation\.lastSfModstamp/);
    expect(() => parsePayload(mapQueue, 'map-record', { ...base, correlation: { ...correlation, version: undefined } })).toThrowError(
      /correlation\.version/,
    );
  });

  it('rejects an unknown job name', () => {
    expect(() => parsePayload(fnWriteQueue, 'nope' as never, {})).toThrowError(/unknown job name/);
  });

  it('builds job ids without the BullMQ separator', () => {
    expect(jobId('om', 'demo:x', '04l 1')).toBe('om-demo_x-04l_1');
    expect(jobId('a', 1)).not.toContain(':');
  });

  it('narrows job data by job name', () => {
    const describeJob = (job: JobOf<typeof fnWriteQueue>): string => {
      switch (job.name) {
        case 'write-work-order':
          return job.data.payloadHash;
        case 'post-message':
          return job.data.body;
        case 'cancel-work-order':
          return String(job.data.reason);
      }
    };
    expect(
      describeJob({
        name: 'post-message',
        data: { connectionId: 'c', sfId: 'x'.repeat(18), caseCommentId: 'y'.repeat(18), workOrderId: 1, body: 'hi' },
      }),
    ).toBe('hi');
  });
});
