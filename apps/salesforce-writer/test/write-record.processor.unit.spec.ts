// The writer's decisions with in-memory fakes (no Redis, PostgreSQL or Salesforce): what it sends
// in one composite request, what it waits for, and what it records. The real services are covered
// by write-record.processor.spec.ts; Salesforce's composite answer shape follows its REST docs
// (an array of { body, httpHeaders, httpStatusCode, referenceId }, PROCESSING_HALTED beside the
// failing subrequest under allOrNone).
import { describe, expect, it } from 'vitest';
import { DelayedError, UnrecoverableError } from 'bullmq';
import { parseConfig } from '@broker/config';
import { createJobContext, createLogger, UnknownConnectionError } from '@broker/runtime';
import { ApiBudgetError, type CompositeResult, type CompositeSubrequest } from '@broker/salesforce/client';
import { fakeJob, memoryKeyValue, memoryLocks, memoryTimeline, simConnectionYaml } from '@broker/testing';
import { writeRecord, type SfWriterClient, type SfWriterDeps } from '../src/write-record.processor';

const log = createLogger({ service: 'sfw-unit', level: 'silent' });
const config = parseConfig(simConnectionYaml({ salesforceUrl: 'https://example.my.salesforce.com' }), '/tmp/c.yaml', {});
const connections = new Map([['demo', config.connections[0]!]]);
const CASE = '500000000000001AAA';

/** A Salesforce client that answers composite requests from a script and counts calls. */
function fakeClient(
  answer: (requests: CompositeSubrequest[]) => CompositeResult[] = (rs) =>
    rs.map((r) => ({
      referenceId: r.referenceId,
      httpStatusCode: r.method === 'POST' ? 201 : 204,
      body: r.method === 'POST' ? { id: '00a000000000001AAA', success: true } : null,
      httpHeaders: {},
    })),
) {
  const sent: CompositeSubrequest[][] = [];
  let budget: Error | undefined;
  const client: SfWriterClient & { sent: typeof sent; exhaust(err: Error): void } = {
    sent,
    exhaust: (err) => void (budget = err),
    userId: '005000000000001AAA',
    awaitBudget: async () => {
      if (budget) throw budget;
    },
    query: async () => ({ records: [], totalSize: 0 }),
    composite: async (requests) => {
      sent.push(requests);
      return answer(requests);
    },
  } as SfWriterClient & { sent: typeof sent; exhaust(err: Error): void };
  return client;
}

function setup(client = fakeClient()) {
  const timeline = memoryTimeline();
  const store = {
    processed: new Set<string>(),
    wasInboundProcessed: async (_c: string, _s: string, id: string) => store.processed.has(id),
    markInboundProcessed: async (e: { notificationId: string }) => void store.processed.add(e.notificationId),
    claimMessageLink: async () => ({ link: { id: 1n, createdAt: new Date(), caseCommentId: null }, created: true }),
    completeMessageLink: async () => undefined,
  };
  const deps = {
    clients: new Map([['demo', client]]),
    store: store as unknown as SfWriterDeps['store'],
    locks: memoryLocks(),
    redis: memoryKeyValue(),
    prefix: 'unit',
  };
  const run = (data: Record<string, unknown>, id = `sfw-${Math.random()}`) => {
    const job = fakeJob(
      { connectionId: 'demo', sfObject: 'Case', sfId: CASE, fields: {}, cause: { kind: 'fn-event', id: 'd1', workOrderId: 5 }, ...data },
      { id, queueName: 'sf.write' },
    );
    return { job, result: writeRecord(job as never, deps, createJobContext(job, { log, connections, timeline })) };
  };
  return { client, timeline, deps, run };
}

describe('salesforce-writer (unit)', () => {
  it('sends fields and a comment as one composite request and records one API call', async () => {
    const { client, timeline, run } = setup();
    expect(await run({ fields: { Status: 'Working' }, comment: { body: 'On the way', isPublished: false } }).result).toBe('written');
    expect(client.sent).toHaveLength(1);
    expect(client.sent[0]!.map((r) => [r.method, r.referenceId])).toEqual([
      ['PATCH', 'record'],
      ['POST', 'comment'],
    ]);
    expect(client.sent[0]![0]!.url).toBe(`/services/data/v${connections.get('demo')!.salesforce.apiVersion}/sobjects/Case/${CASE}`);
    expect(timeline.of('sf-written', 'ok')).toMatchObject([
      { connectionId: 'demo', sfId: CASE, workOrderId: 5, sfApiCalls: 1, queue: 'sf.write' },
    ]);
  });

  it('waits without spending an attempt while another job holds the record', async () => {
    const { deps, client, run } = setup();
    const release = await deps.locks.tryLock('sfw', 'demo', CASE);
    const { job, result } = run({ fields: { Status: 'Working' } });
    await expect(result).rejects.toBeInstanceOf(DelayedError);
    expect(job.delayedUntil! - Date.now()).toBeGreaterThan(0);
    expect(client.sent).toHaveLength(0);
    await release!();
  });

  it('waits for the API budget for the time Salesforce usage needs, sending nothing', async () => {
    const { client, run } = setup();
    client.exhaust(new ApiBudgetError({ used: 95, limit: 100 } as never, 60_000));
    const { job, result } = run({ fields: { Status: 'Working' } });
    await expect(result).rejects.toBeInstanceOf(DelayedError);
    expect(job.delayedUntil! - Date.now()).toBeGreaterThan(50_000);
    expect(client.sent).toHaveLength(0);
  });

  it('drops status fields older than the last status written, and sends nothing when nothing is left', async () => {
    const { client, deps, timeline, run } = setup();
    await deps.redis.set(`unit:sfstatus:demo:${CASE}`, '2026-11-28T12:30:00.000Z|60', 'EX', 60);
    expect(
      await run({ fields: { Status: 'On Site' }, statusOrder: { at: '2026-11-28T12:10:00.000Z', rank: 40, fields: ['Status'] } }).result,
    ).toBe('nothing');
    expect(client.sent).toHaveLength(0);
    expect(timeline.of('sf-written', 'skipped')).toHaveLength(1);
  });

  it('fails a validation rule for good with its message, and retries lock contention', async () => {
    const halted =
      (code: string, message: string) =>
      (rs: CompositeSubrequest[]): CompositeResult[] =>
        rs.map((r, i) => ({
          referenceId: r.referenceId,
          httpStatusCode: 400,
          body: [i === 0 ? { errorCode: code, message } : { errorCode: 'PROCESSING_HALTED', message: 'halted' }],
        }));
    const invalid = setup(fakeClient(halted('FIELD_CUSTOM_VALIDATION_EXCEPTION', 'Resolution is required')));
    const err = await invalid.run({ fields: { Status: 'Resolved' } }).result.catch((e: Error) => e);
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect((err as Error).message).toBe('FIELD_CUSTOM_VALIDATION_EXCEPTION: Resolution is required');

    const locked = setup(fakeClient(halted('UNABLE_TO_LOCK_ROW', 'unable to obtain exclusive access')));
    const retry = await locked.run({ fields: { Status: 'Working' } }).result.catch((e: Error) => e);
    expect(retry).not.toBeInstanceOf(UnrecoverableError);
    expect(locked.timeline.of('sf-written', 'retry')).toHaveLength(1);
  });

  it('applies one job once: a redelivery after success writes nothing', async () => {
    const { client, run } = setup();
    expect(await run({ fields: { Status: 'Working' } }, 'same').result).toBe('written');
    expect(await run({ fields: { Status: 'Working' } }, 'same').result).toBe('already-applied');
    expect(client.sent).toHaveLength(1);
  });

  it('fails a job of an unknown connection for good', async () => {
    const { run } = setup();
    await expect(run({ connectionId: 'gone', fields: { Status: 'Working' } }).result).rejects.toBeInstanceOf(UnknownConnectionError);
  });
});
