// Cancelling a record's work order (issue 15, part 4) against the Field Nation simulator, real
// Redis and PostgreSQL: once, with the mapped reason, only in a status Field Nation cancels in,
// and safely repeated after a crash or a lost answer.
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { sfWriteQueue } from '@broker/contracts';
import type { ConnectionConfig } from '@broker/config';
import { FieldNationClient } from '@broker/fieldnation';
import { createJobContext, redisRecordLocks } from '@broker/runtime';
import type { Store } from '@broker/store';
import { processorSpecEnv } from '@broker/testing';
import { startFieldNationSim, type FieldNationSim } from '../../fieldnation-sim/src/index';
import { simConnection } from './writer-test-kit';
import { cancelWorkOrder } from '../src/cancel-work-order.processor';
import type { WriterDeps } from '../src/write-work-order.processor';

const env = processorSpecEnv({ label: 'cancel', prefixStem: 'tcx', queue: sfWriteQueue });
const { redis, prefix, queue, log } = env;
let store: Store;
let sim: FieldNationSim;
let deps: WriterDeps;
let connections: Map<string, ConnectionConfig>;
const deletes = () => sim.counters().routes['DELETE /api/rest/v2/workorders/:id']?.calls ?? 0;

beforeAll(async () => {
  store = env.store;
  sim = await startFieldNationSim({ port: 0, rateLimit: false, logger: log });
  const made = simConnection(sim.url, {
    objects:
      '{ Service_Ticket__c: { mapping: x.yaml, writeBack: { syncStatusField: S__c, syncMessageField: M__c }, cancel: { condition: "C__c = true", reason: 58, allowedStatuses: [draft, published, routed, assigned] } } }',
  });
  const client = made.client;
  connections = made.connections;
  deps = { clients: new Map([['demo', client]]), store, sfWriteQueue: queue, locks: redisRecordLocks(redis, prefix) };
});
afterAll(async () => {
  await sim.close();
});

let n = 0;
async function correlated(): Promise<{ sfId: string; workOrderId: number }> {
  const sfId = `a1S0000000000${String(++n).padStart(2, '0')}AAA`;
  const wo = await (deps.clients.get('demo') as FieldNationClient).createWorkOrder({
    title: `ticket ${n}`,
    types_of_work: [{ id: 45, isPrimary: true }],
    location: { mode: 'custom', address1: '1 Main St', city: 'Austin', state: 'TX', zip: '78701', country: 'US', type: { id: 1 } },
    schedule: { service_window: { mode: 'exact', start: { utc: '2026-12-20 15:00:00' } } },
    pay: { type: 'fixed', base: { amount: 120, units: 1 } },
  } as never);
  const { correlation } = await store.claimCorrelation({ connectionId: 'demo', sfObject: 'Service_Ticket__c', sfId });
  await store.updateCorrelation(correlation.id, correlation.version, { workOrderId: Number(wo.id), state: 'synced' });
  return { sfId, workOrderId: Number(wo.id) };
}
const run = (sfId: string, workOrderId: number, reason: number | string = 59) => {
  const j = {
    id: `cancel-${++n}`,
    queueName: 'fn.write',
    attemptsMade: 0,
    data: { connectionId: 'demo', sfObject: 'Service_Ticket__c', sfId, notificationId: `n${n}`, workOrderId, reason },
    moveToDelayed: async () => undefined,
  } as never;
  return cancelWorkOrder(j, deps, createJobContext(j, { log, connections, timeline: store }));
};
const outcomesFor = async (sfId: string) =>
  (await queue.getJobs(['waiting', 'prioritized', 'delayed'])).filter((j) => j.data.sfId === sfId).map((j) => j.data.fields);

describe('fieldnation-writer: cancel-work-order', () => {
  it('cancels with the reason, marks the correlation, queues the Cancelled outcome; a second job sends nothing', async () => {
    const { sfId, workOrderId } = await correlated();
    const before = deletes();
    expect(await run(sfId, workOrderId)).toBe('cancelled');
    expect(sim.getWorkOrder(workOrderId)!.status).toMatchObject({ id: 7 });
    expect((await store.getCorrelation({ connectionId: 'demo', sfId }))!.state).toBe('cancelled');
    expect(await outcomesFor(sfId)).toEqual([{ S__c: 'Cancelled', M__c: null }]);
    expect(await run(sfId, workOrderId)).toBe('already-cancelled');
    expect(deletes() - before).toBe(1);
  });

  it('after a crash between the DELETE and the correlation update, the retry finds it cancelled and sends no second DELETE', async () => {
    const { sfId, workOrderId } = await correlated();
    sim.buyer.cancel(workOrderId, { reason: 58, userId: 1068 }); // as if our DELETE had gone through, unrecorded
    const before = deletes();
    expect(await run(sfId, workOrderId)).toBe('cancelled');
    expect(deletes()).toBe(before);
    expect((await store.getCorrelation({ connectionId: 'demo', sfId }))!.state).toBe('cancelled');
  });

  it('refuses outside allowedStatuses (and in Paid, where Field Nation cancels nothing): a failed outcome saying why, no DELETE', async () => {
    const { sfId, workOrderId } = await correlated();
    sim.buyer.publish(workOrderId);
    sim.buyer.assign(workOrderId, 557);
    sim.technician.complete(workOrderId);
    const before = deletes();
    expect(await run(sfId, workOrderId)).toBe('refused');
    expect(await outcomesFor(sfId)).toEqual([
      {
        S__c: 'Failed',
        M__c: `Not cancelled: work order ${workOrderId} is Work Done; cancelling is allowed when it is draft, published, routed, assigned`,
      },
    ]);
    sim.buyer.approve(workOrderId);
    sim.pay(workOrderId);
    expect(await run(sfId, workOrderId)).toBe('refused');
    expect(deletes()).toBe(before);
    expect(sim.getWorkOrder(workOrderId)!.status).toMatchObject({ id: 6 });
    expect((await store.getCorrelation({ connectionId: 'demo', sfId }))!.state).toBe('synced');
    const rows = (await store.timeline(sfId)).filter((r) => r.stage === 'written');
    expect(rows.map((r) => r.outcome)).toEqual(['failed', 'failed']);
    expect(rows[1]!.message).toMatch(/is Paid, and Field Nation cancels only before payment$/);
  });

  it('does nothing for a job naming another work order than the record has', async () => {
    const { sfId, workOrderId } = await correlated();
    expect(await run(sfId, workOrderId + 1000)).toBe('not-this-work-order');
    expect(sim.getWorkOrder(workOrderId)!.status).not.toMatchObject({ id: 7 });
  });
});
