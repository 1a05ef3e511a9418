// The outcome fields a record receives (issue 15), and the failure hook's choice of record and
// reason: pure functions and an in-memory queue.
import { describe, expect, it } from 'vitest';
import { UnrecoverableError } from 'bullmq';
import { sfWriteQueue } from '@broker/contracts';
import { ConfigError, parseConfig, type WriteBackConfig } from '@broker/config';
import { boundedReason, permanentError, queueSyncFeedback, syncFailureFeedback, syncFeedbackFields, withFeedback } from '@broker/runtime';
import { demoConnectionYaml, fakeJob, memoryQueue } from '@broker/testing';

const TICKET = 'a1S000000000001AAA';
const connectionWith = (objects: string) => parseConfig(demoConnectionYaml({ objects }), '/tmp/c.yaml', {}).connections[0]!;
const full = connectionWith(
  '{ Service_Ticket__c: { mapping: x.yaml, writeBack: { workOrderIdField: WO__c, syncStatusField: Status__c, resetCheckbox: Send__c, syncMessageField: Msg__c, syncMessageMaxLength: 40, syncedAtField: At__c } } }',
);
const wb = full.objects.Service_Ticket__c!.writeBack as WriteBackConfig;
const at = new Date('2026-12-04T10:00:00.000Z');

describe('sync feedback fields', () => {
  it('synced: work order id, status, no message, the time, checkbox reset', () => {
    expect(syncFeedbackFields(wb, { status: 'synced', workOrderId: 42 }, at)).toEqual({
      Status__c: 'Synced',
      WO__c: '42',
      Msg__c: null,
      At__c: '2026-12-04T10:00:00.000Z',
      Send__c: false,
    });
  });

  it('failed: status and the reason cut to the field length; id, time and checkbox left as they are', () => {
    const fields = syncFeedbackFields(
      wb,
      { status: 'failed', reason: 'Field Nation refused it (422): title: is required, and much more' },
      at,
    );
    expect(fields).toEqual({ Status__c: 'Failed', Msg__c: 'Field Nation refused it (422): title:…' });
    expect((fields.Msg__c as string).length).toBeLessThanOrEqual(40);
  });

  it('cancelled: status, id and a message naming the reason', () => {
    expect(syncFeedbackFields(wb, { status: 'cancelled', workOrderId: 42, reason: 'duplicate' }, at)).toEqual({
      Status__c: 'Cancelled',
      WO__c: '42',
      Msg__c: 'Work order 42 cancelled: duplicate',
    });
  });

  it('writes only the configured fields; the old write-back keys alone still work; custom status values', () => {
    const old = connectionWith(
      '{ Case: { mapping: x.yaml, writeBack: { workOrderIdField: WO__c, syncStatusField: S__c, resetCheckbox: Send__c } } }',
    );
    expect(syncFeedbackFields(old.objects.Case!.writeBack, { status: 'synced', workOrderId: 7 }, at)).toEqual({
      WO__c: '7',
      S__c: 'Synced',
      Send__c: false,
    });
    expect(syncFeedbackFields(old.objects.Case!.writeBack, { status: 'failed', reason: 'x' }, at)).toEqual({ S__c: 'Failed' });
    expect(syncFeedbackFields(undefined, { status: 'synced', workOrderId: 7 }, at)).toEqual({});
    const custom = connectionWith('{ Case: { mapping: x.yaml, writeBack: { syncStatusField: S__c, statusValues: { failed: Error } } } }');
    expect(syncFeedbackFields(custom.objects.Case!.writeBack, { status: 'failed', reason: 'x' }, at)).toEqual({ S__c: 'Error' });
    expect(syncFeedbackFields(custom.objects.Case!.writeBack, { status: 'synced', workOrderId: 1 }, at)).toEqual({ S__c: 'Synced' });
  });

  it('cuts on a word boundary near the end, collapses whitespace, keeps short text as is', () => {
    expect(boundedReason('short  \n text', 255)).toBe('short text');
    expect(boundedReason('a'.repeat(300), 255)).toBe(`${'a'.repeat(254)}…`);
    expect(boundedReason(`${'word '.repeat(60)}`, 100).length).toBeLessThanOrEqual(100);
  });

  it('refuses bad writeBack keys and field names at config load', () => {
    expect(() => connectionWith('{ Case: { mapping: x.yaml, writeBack: { syncMesageField: M__c } } }')).toThrow(ConfigError);
    expect(() => connectionWith('{ Case: { mapping: x.yaml, writeBack: { syncMessageField: "M__c; DROP" } } }')).toThrow(/field API name/);
    expect(() => connectionWith('{ Case: { mapping: x.yaml, writeBack: { syncMessageField: M__c, syncMessageMaxLength: 5 } } }')).toThrow(
      ConfigError,
    );
  });
});

describe('queueSyncFeedback', () => {
  it('queues one sf.write job per key with the outcome, its order and signature', async () => {
    const queue = memoryQueue(sfWriteQueue);
    const target = { connection: full, sfObject: 'Service_Ticket__c', sfId: TICKET };
    expect(await queueSyncFeedback(queue, target, { status: 'failed', reason: 'Not triggered', workOrderId: null }, 'nt1', at)).toBe(true);
    expect(await queueSyncFeedback(queue, target, { status: 'failed', reason: 'Not triggered' }, 'nt1', at)).toBe(true);
    expect(queue.jobs).toHaveLength(1);
    expect(queue.jobs[0]!.opts?.jobId).toBe(`fb-demo-${TICKET}-nt1`);
    expect(queue.jobs[0]!.data).toMatchObject({
      sfObject: 'Service_Ticket__c',
      fields: { Status__c: 'Failed', Msg__c: 'Not triggered' },
      outcome: { status: 'failed', at: at.toISOString(), signature: 'failed||Not triggered', rewrite: false },
      cause: { kind: 'sync-feedback', id: 'nt1' },
    });
    const bare = connectionWith('{ Case: { mapping: x.yaml } }');
    expect(
      await queueSyncFeedback(queue, { connection: bare, sfObject: 'Case', sfId: TICKET }, { status: 'synced', workOrderId: 1 }, 'k'),
    ).toBe(false);
    expect(queue.jobs).toHaveLength(1);
  });
});

describe('syncFailureFeedback (the failure hook)', () => {
  const connections = new Map([['demo', full]]);
  let n = 0;
  const job = (name: string, data: Record<string, unknown>) =>
    Object.assign(fakeJob({ connectionId: 'demo', sfId: TICKET, ...data }, { id: `j${++n}` }), { name });

  it("uses the error's short reason, else its message, and the job's work order", async () => {
    const queue = memoryQueue(sfWriteQueue);
    const hook = syncFailureFeedback(queue, connections);
    await hook(
      job('map-record', { sfObject: 'Service_Ticket__c' }) as never,
      withFeedback(permanentError('mapping failed: /x.yaml: t: required'), 'Mapping: t: required'),
    );
    await hook(job('cancel-work-order', { sfObject: 'Service_Ticket__c', workOrderId: 9 }) as never, new UnrecoverableError('boom'));
    expect(queue.jobs.map((j) => (j.data as { fields: Record<string, unknown> }).fields.Msg__c)).toEqual(['Mapping: t: required', 'boom']);
    expect((queue.jobs[1]!.data as { cause: { workOrderId?: number } }).cause.workOrderId).toBe(9);
  });

  it('says nothing for comments, other jobs, skipped errors and unknown connections', async () => {
    const queue = memoryQueue(sfWriteQueue);
    const hook = syncFailureFeedback(queue, connections, { jobs: ['write-work-order'], skip: (e) => e.message === 'gone' });
    await hook(job('write-work-order', { sfObject: 'CaseComment' }) as never, new Error('x'));
    await hook(job('post-message', { sfObject: 'Service_Ticket__c' }) as never, new Error('x'));
    await hook(job('write-work-order', { sfObject: 'Service_Ticket__c' }) as never, new Error('gone'));
    await hook(job('write-work-order', { sfObject: 'Service_Ticket__c', connectionId: 'other' }) as never, new Error('x'));
    expect(queue.jobs).toHaveLength(0);
    await hook(job('write-work-order', { sfObject: 'Service_Ticket__c' }) as never, new Error('x'));
    expect(queue.jobs).toHaveLength(1);
  });
});

describe('cancel settings at config load', () => {
  it('checks the condition like the trigger, defaults the allowed statuses, refuses a paid status and CaseComment', () => {
    const ok = connectionWith(
      '{ Case: { mapping: x.yaml, cancel: { condition: "Status = \'Closed\' AND IsDone__c = false", reason: 58 } } }',
    );
    expect(ok.objects.Case!.cancel).toEqual({
      condition: "Status = 'Closed' AND IsDone__c = false",
      reason: 58,
      allowedStatuses: ['draft', 'published', 'routed', 'assigned', 'work_done', 'approved'],
    });
    expect(() => connectionWith('{ Case: { mapping: x.yaml, cancel: { condition: "X__c = true LIMIT 1", reason: 58 } } }')).toThrow(
      /cancel condition is not one SOQL WHERE condition/,
    );
    expect(() => connectionWith('{ Case: { mapping: x.yaml, cancel: { condition: "X__c = true); DELETE", reason: 58 } } }')).toThrow(
      ConfigError,
    );
    expect(() => connectionWith('{ Case: { mapping: x.yaml, cancel: { condition: "X__c = true" } } }')).toThrow(/reason/);
    expect(() =>
      connectionWith('{ Case: { mapping: x.yaml, cancel: { condition: "X__c = true", reason: 58, allowedStatuses: [paid] } } }'),
    ).toThrow(ConfigError);
    expect(() => connectionWith('{ CaseComment: { messages: true, cancel: { condition: "X__c = true", reason: 58 } } }')).toThrow(
      /no work order to cancel/,
    );
  });
});
