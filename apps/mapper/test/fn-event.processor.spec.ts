import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DelayedError } from 'bullmq';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { sfWriteQueue } from '@broker/contracts';
import { parseConfig, type ConnectionConfig } from '@broker/config';
import { loadEventRulesFile } from '@broker/mapping';
import { createJobContext } from '@broker/runtime';
import type { Store } from '@broker/store';
import { demoConnectionYaml, processorSpecEnv } from '@broker/testing';
import { FieldNationClient } from '@broker/fieldnation';
import { startFieldNationSim, type FieldNationSim } from '../../fieldnation-sim/src/index';
import { handleFieldNationEvent, resolveMessage, type EventDeps } from '../src/fn-event.processor';

const root = path.resolve(import.meta.dirname, '../../..');
const env = processorSpecEnv({ label: 'mapper', prefixStem: 'tm', queue: sfWriteQueue });
const { queue, log } = env;
let store: Store;
let deps: EventDeps;
let connections: Map<string, ConnectionConfig>;

beforeAll(async () => {
  store = env.store;
  const config = parseConfig(demoConnectionYaml({ fieldnationExtra: '      integrationUserId: 1068' }), '/tmp/c.yaml', {});
  connections = new Map([['demo', config.connections[0]!]]);
  deps = {
    eventRules: new Map([['demo', loadEventRulesFile(path.join(root, 'config/mappings/case-events.yaml'))]]),
    store,
    sfWriteQueue: queue,
  };
});

let n = 0;
function job(eventName: string, workOrderId: number, occurredAt: string, by = 557) {
  const deliveryId = `d-${++n}`;
  const body = {
    event: { name: eventName, params: { work_order_id: workOrderId } },
    timestamp: occurredAt,
    triggered_by_user: { id: by },
    workorder: { id: workOrderId, status: { id: 3, name: 'x' }, assignee: { user: { first_name: 'Tess', last_name: 'Tech' } } },
  };
  return {
    id: `fn-demo-${deliveryId}`,
    queueName: 'fn.event',
    attemptsMade: 0,
    data: { connectionId: 'demo', deliveryId, eventName, workOrderId, occurredAt, receivedAt: occurredAt, body },
  } as never;
}
const ctx = (j: never, conns = connections) => createJobContext(j, { log, connections: conns, timeline: store });
const run = (j: never) => handleFieldNationEvent(j, deps, ctx(j));

describe('Field Nation event processor', () => {
  it('records and skips events for work orders it does not know', async () => {
    expect(await run(job('workorder.status.assigned', 999, '2026-11-28T10:00:00Z'))).toBe('unknown-work-order');
    expect((await store.timeline('999')).map((r) => r.outcome)).toEqual(['skipped']);
  });

  it('does not let an older status overwrite a newer one, but keeps its other fields', async () => {
    const { correlation } = await store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId: '500000000000001AAA' });
    await store.updateCorrelation(correlation.id, correlation.version, { workOrderId: 7001, state: 'synced' });
    expect(await run(job('workorder.status.work_done', 7001, '2026-11-28T12:00:00Z'))).toBe('queued');
    expect(await run(job('workorder.status.checked_in', 7001, '2026-11-28T11:00:00Z'))).toBe('queued');
    const jobs = await queue.getJobs(['waiting']);
    const checkedIn = jobs.find((j) => j.data.cause.eventName === 'workorder.status.checked_in')!;
    expect(checkedIn.data.fields.Status).toBeUndefined();
    expect(checkedIn.data.fields.Technician_Arrived__c).toBeTruthy();
    expect(checkedIn.data.statusOrder).toBeUndefined();
    const done = jobs.find((j) => j.data.cause.eventName === 'workorder.status.work_done')!;
    expect(done.data.fields.Status).toBe('Work Completed');
    expect(done.data.comment?.body).toContain('7001');
  });

  it('skips the events the broker caused itself', async () => {
    expect(await run(job('workorder.status.published', 7001, '2026-11-28T13:00:00Z', 1068))).toBe('own-event');
  });

  it("without a configured integration user, holds a message event while a post of the broker's own is pending, then drops it as an echo", async () => {
    const base = connections.get('demo')!;
    const noUser = new Map([['demo', { ...base, fieldnation: { ...base.fieldnation, integrationUserId: undefined } }]]) as Map<
      string,
      ConnectionConfig
    >;
    const { correlation } = await store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId: '500000000000002AAA' });
    await store.updateCorrelation(correlation.id, correlation.version, { workOrderId: 7002, state: 'synced' });
    const { link } = await store.claimMessageLink({
      connectionId: 'demo',
      direction: 'sf_to_fn',
      workOrderId: 7002,
      caseCommentId: '00a000000000001AAA',
    });

    const delays: number[] = [];
    const echo = job('workorder.message_posted', 7002, '2026-11-28T14:00:00Z', 1068) as unknown as {
      data: { body: { event: { params: Record<string, unknown> } } };
    };
    echo.data.body.event.params.message = { msg_id: 880, message: 'Ana: please bring a ladder', from: { id: 1068 } };
    Object.assign(echo, { moveToDelayed: async (ts: number) => void delays.push(ts - Date.now()) });
    await expect(handleFieldNationEvent(echo as never, deps, ctx(echo as never, noUser))).rejects.toBeInstanceOf(DelayedError);
    expect(delays).toHaveLength(1);

    await store.completeMessageLink(link.id, { fnMessageId: '880' });
    expect(await handleFieldNationEvent(echo as never, deps, ctx(echo as never, noUser))).toBe('own-message');
    expect((await queue.getJobs(['waiting'])).filter((j) => j.data.cause.workOrderId === 7002)).toHaveLength(0);
  });

  it('processes a delivery once: the same signed body replayed after its job left Redis (new delivery id or none) writes nothing new', async () => {
    const { correlation } = await store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId: '500000000000003AAA' });
    await store.updateCorrelation(correlation.id, correlation.version, { workOrderId: 7003, state: 'synced' });
    // The ingress keys a delivery by the SHA-256 of its signed body, whatever X-FN-Delivery-Id says.
    const original = job('workorder.status.work_done', 7003, new Date().toISOString()) as unknown as {
      id: string;
      data: { deliveryId: string };
    };
    const key = createHash('sha256')
      .update(JSON.stringify((original as unknown as { data: { body: unknown } }).data.body))
      .digest('hex');
    original.data.deliveryId = key;
    original.id = `fn-demo-${key}`;
    const writes = async () => (await queue.getJobs(['waiting'])).filter((j) => j.data.cause.workOrderId === 7003).length;
    expect(await run(original as never)).toBe('queued');
    expect(await writes()).toBe(1);
    expect(await store.wasInboundProcessed('demo', 'fn', key)).toBe(true);
    // The Salesforce write ran and its job is gone; so is the fn.event job. The replay arrives as a new job.
    await queue.obliterate({ force: true });
    expect(await run({ ...original, attemptsMade: 0 } as never)).toBe('already-processed');
    expect(await writes()).toBe(0);
    expect((await store.timeline('7003')).filter((r) => r.stage === 'event')).toHaveLength(1);
  });
});

// Field Nation documents no layout for a message event's body (webhooks v3 events page: model
// WorkOrder only; legacy page: "includes the Message object"), so each plausible one is read, then the
// work order's messages (GET /workorders/{id}/messages, rest-v2.yaml) are the fallback.
describe('message events in every plausible layout', () => {
  let sim: FieldNationSim;
  let client: FieldNationClient;
  beforeAll(async () => {
    sim = await startFieldNationSim({ logger: log, rateLimit: false });
    client = new FieldNationClient({ environment: sim.url, credentials: sim.credentials });
  });
  afterAll(async () => {
    await sim?.close();
  });
  const listMessages = (_c: string, id: number) => client.listMessages(id);
  const event = (workOrderId: number, params: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    connectionId: 'demo',
    workOrderId,
    occurredAt: new Date(Date.now() + 1000).toISOString(),
    body: {
      event: { name: 'workorder.message_posted', params: { work_order_id: workOrderId, ...params } },
      workorder: { id: workOrderId },
      ...extra,
    },
  });

  it('reads the message object in params, the keys spread over params, a top-level message and the draft data.message', async () => {
    const expected = { id: '41', text: 'On site', authorId: 557 };
    await expect(
      resolveMessage(event(1, { message: { msg_id: 41, message: 'On site', from: { id: 557, name: 'Tess Technician' } } }), {}),
    ).resolves.toMatchObject({ ...expected, authorName: 'Tess Technician', source: 'event.params.message' });
    await expect(resolveMessage(event(1, { message_id: '41', message: 'On site', author: { id: 557 } }), {})).resolves.toMatchObject({
      ...expected,
      source: 'event.params',
    });
    await expect(
      resolveMessage(
        event(1, {}, { message: { id: 41, text: 'On site', user: { id: 557, first_name: 'Tess', last_name: 'Technician' } } }),
        {},
      ),
    ).resolves.toMatchObject({ ...expected, authorName: 'Tess Technician', source: 'message' });
    await expect(
      resolveMessage(event(1, {}, { data: { message: { msg_id: 41, body: 'On site', user_id: 557 } } }), {}),
    ).resolves.toMatchObject({ ...expected, source: 'data.message' });
  });

  it('falls back to GET /workorders/{id}/messages when the body has only an id, or nothing', async () => {
    const fn = await client.createWorkOrder({ title: 'Message fallback' } as never);
    const msgId = sim.technician.postMessage(fn.id, 'Running 10 minutes late', { providerId: 557 });
    const byId = await resolveMessage(event(fn.id, { message_id: msgId }), { listMessages });
    expect(byId).toMatchObject({ id: msgId, text: 'Running 10 minutes late', authorId: 557, source: `GET /workorders/${fn.id}/messages` });
    const bare = await resolveMessage(event(fn.id, {}), { listMessages });
    expect(bare).toMatchObject({ id: msgId, text: 'Running 10 minutes late', authorId: 557 });
  });

  it('an unknown layout is a failed, replayable job with the reason, not a skip', async () => {
    const fn = await client.createWorkOrder({ title: 'Unknown layout' } as never);
    const unknown = event(fn.id, { msg: { txt: 'hello' } });
    await expect(resolveMessage(unknown, { listMessages })).rejects.toMatchObject({
      name: 'UnrecoverableError',
      reason: 'unknown-payload',
      message: expect.stringMatching(
        /no message in any known layout, and GET \/workorders\/\d+\/messages has no matching message \(0 listed\)/,
      ),
    });
    await expect(resolveMessage(event(fn.id, { message_id: '999' }), { listMessages })).rejects.toThrow(/message id 999 but no text/);

    // Through the processor: the job fails for good (the worker puts it on the timeline as failed).
    const { correlation } = await store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId: '500000000000009AAA' });
    await store.updateCorrelation(correlation.id, correlation.version, { workOrderId: fn.id, state: 'synced' });
    const j = job('workorder.message_posted', fn.id, new Date().toISOString()) as unknown as {
      data: { body: { event: { params: Record<string, unknown> } } };
    };
    j.data.body.event.params.msg = { txt: 'hello' };
    await expect(handleFieldNationEvent(j as never, { ...deps, listMessages }, ctx(j as never))).rejects.toMatchObject({
      name: 'UnrecoverableError',
      reason: 'unknown-payload',
    });
  });

  it('a message found in any layout reaches the rules where they read it (event.params.message)', async () => {
    const { correlation } = await store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId: '500000000000010AAA' });
    await store.updateCorrelation(correlation.id, correlation.version, { workOrderId: 7010, state: 'synced' });
    const j = job('workorder.message_posted', 7010, new Date().toISOString()) as unknown as {
      data: { deliveryId: string; body: { event: { params: Record<string, unknown> } } };
    };
    Object.assign(j.data.body.event.params, { message_id: 77, message: 'Parts arrived', author: { id: 557, name: 'Tess Technician' } });
    expect(await handleFieldNationEvent(j as never, deps, ctx(j as never))).toBe('queued');
    const written = (await queue.getJobs(['waiting'])).find((w) => w.data.cause.workOrderId === 7010)!;
    expect(written.data.comment).toMatchObject({ body: expect.stringContaining('Parts arrived'), fnMessageId: '77' });
    expect(written.data.comment!.body).toContain('Tess Technician');
  });
});
