import { createHash } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startListener, type Listener } from '@broker/testing';
import type { FieldNationSim } from '../src/index';
import {
  getToken,
  hmac,
  publishableWorkOrder,
  restApi,
  startSim,
  webhookApi,
  type ApiResponse,
  json,
  failFirstDelivery,
} from './sim-test-helpers';

describe('Webhooks v3', () => {
  let sim: FieldNationSim;
  let listener: Listener;
  let token: string;
  let hooks: (method: string, path: string, body?: unknown) => Promise<ApiResponse>;

  beforeAll(async () => {
    sim = await startSim({ rateLimit: false, webhooks: { maxAttempts: 3 } });
    listener = await startListener();
  });
  beforeEach(async () => {
    sim.reset();
    listener.requests.length = 0;
    listener.respond = () => ({ status: 200 });
    token = await getToken(sim);
    hooks = webhookApi(sim, token);
  });
  afterAll(async () => {
    await sim?.close();
    await listener?.close();
  });

  const createDraft = async () => (await restApi(sim, token)('POST', '/workorders', publishableWorkOrder())).body as { id: number };

  it('manages webhooks with the v3 envelope', async () => {
    const events = await hooks('GET', '/events');
    expect(events.body.result).toHaveLength(33);
    expect(events.body.result[0]).toMatchObject({ name: 'workorder.created', model: 'WorkOrder' });

    const created = await hooks('POST', '', { url: `${listener.url}/a`, method: 'post', status: 'active', events: ['workorder.created'] });
    expect(created.body.metadata.timestamp).toEqual(expect.any(String));
    const hook = created.body.result;
    expect(hook).toMatchObject({
      id: 1,
      url: `${listener.url}/a`,
      method: 'post',
      status: 'active',
      events: ['workorder.created'],
      companyId: 4455,
    });
    expect(hook.secret).toMatch(/^[0-9a-f-]{36}$/);

    const updated = await hooks('PUT', `/${hook.webhookId}`, { events: ['workorder.created', 'workorder.status.published'] });
    expect(updated.body.result.events).toEqual(['workorder.created', 'workorder.status.published']);
    expect((await hooks('GET', '')).body).toMatchObject({ metadata: { total: 1 }, result: [{ webhookId: hook.webhookId }] });
    expect((await hooks('GET', `/${hook.webhookId}/history`)).body.result.map((h: { action: string }) => h.action)).toEqual([
      'created',
      'events_updated',
    ]);
    expect((await hooks('DELETE', `/${hook.webhookId}`)).body.result.webhookId).toBe(hook.webhookId);
    expect((await hooks('GET', `/${hook.webhookId}`)).status).toBe(404);
  });

  it('validates webhook bodies and requires a token', async () => {
    const bad = await hooks('POST', '', { url: 'http://example.com/hook', events: ['workorder.created'] });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({
      metadata: { path: '/api/v1/webhooks' },
      errors: [{ code: 400, message: 'url: url must be a valid https URL' }],
      result: {},
    });
    expect((await hooks('POST', '', { url: 'https://example.com/h', events: ['work_order.created'] })).body.errors[0].message).toContain(
      "unknown event 'work_order.created'",
    );
    expect((await hooks('POST', '', { url: 'https://example.com/h', events: [] })).status).toBe(400);
    // webhooks-v3.yaml: secret is `format: uuid` on create and update
    const notUuid = await hooks('POST', '', { url: 'https://example.com/h', events: ['workorder.created'], secret: 'demo-webhook-secret' });
    expect(notUuid.status).toBe(400);
    expect(notUuid.body.errors[0].message).toMatch(/^secret: secret must be a UUID/);
    expect(() => sim.registerWebhook({ url: 'https://example.com/h', secret: 'demo-webhook-secret' })).toThrow(/must be a UUID/);
    const generated = await hooks('POST', '', { url: 'https://example.com/g', events: ['workorder.created'] });
    expect(generated.body.result.secret).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(
      (
        await hooks('POST', '', {
          url: 'https://example.com/h',
          events: ['workorder.created'],
          webhookAttribute: { header: { 'X-FN-Foo': '1' } },
        })
      ).status,
    ).toBe(400);
    const anonymous = await fetch(`${sim.url}/api/v1/webhooks`);
    expect(anonymous.status).toBe(401);
    expect((await json(anonymous)).errors[0]).toEqual({ code: 401, message: 'An access token is required' });
  });

  it('retries 5xx with backoff up to maxAttempts, then a manual retry re-delivers under the same uuid', async () => {
    const hook = sim.registerWebhook({
      url: `${listener.url}/h`,
      events: ['workorder.created'],
      secret: '3b5d7f9a-1c2e-4a6b-8d0f-2a4c6e8a0b2d',
    });
    listener.respond = () => ({ status: 500 });
    const wo = await createDraft();
    await sim.waitForDeliveries();
    expect(listener.requests.map((r) => String(r.headers['x-fn-delivery-id']).split(':')[1])).toEqual(['1', '2', '3']);
    const [delivery] = sim.deliveries({ webhookId: hook.webhookId });
    expect(delivery).toMatchObject({ deliveryStatus: 'failed', workOrderId: wo.id, eventName: 'workorder.created' });
    // 10 s then 20 s, compressed by the time factor of 1000.
    const gaps = [listener.requests[1]!.at - listener.requests[0]!.at, listener.requests[2]!.at - listener.requests[1]!.at];
    expect(gaps[0]).toBeGreaterThanOrEqual(9);
    expect(gaps[1]).toBeGreaterThanOrEqual(19);

    const logs = await hooks('GET', `/delivery-logs?webhookId=${hook.webhookId}`);
    expect(logs.body.result[0]).toMatchObject({
      deliveryId: delivery!.deliveryId,
      deliveryStatus: 500,
      deliveryAttempt: 3,
      deliveryState: 'failed',
    });
    expect((await hooks('GET', `/delivery-logs?webhookId=${hook.webhookId}&deliveryStatus=500`)).body.result).toHaveLength(1);
    expect((await hooks('GET', `/delivery-logs?webhookId=${hook.webhookId}&deliveryStatus=200`)).body.result).toHaveLength(0);

    listener.respond = () => ({ status: 200 });
    const retried = await hooks('PATCH', `/delivery-logs/${delivery!.deliveryId}/retry`);
    expect(retried.body.result.job_id).toEqual(expect.any(String));
    await sim.waitForDeliveries();
    const last = listener.requests.at(-1)!;
    expect(last.headers['x-fn-delivery-id']).toBe(`${delivery!.deliveryId}:4`);
    expect(last.body).toBe(listener.requests[0]!.body);
    expect(last.headers['x-fn-signature']).toBe(hmac('3b5d7f9a-1c2e-4a6b-8d0f-2a4c6e8a0b2d', last.body));
    const detail = (await hooks('GET', `/delivery-logs/${delivery!.deliveryId}`)).body.result;
    expect(detail).toMatchObject({ deliveryStatus: 200, deliveryAttempt: 4, deliveryState: 'delivered' });
    const log = (await fetch(detail.delivery_log).then((r) => r.json())) as { deliveries: { deliveryId: string }[] };
    expect(log.deliveries.map((d) => d.deliveryId)).toEqual([delivery!.deliveryId]);
  });

  it('does not retry 4xx answers', async () => {
    sim.registerWebhook({ url: `${listener.url}/h`, events: ['workorder.created'] });
    listener.respond = () => ({ status: 410 });
    await createDraft();
    await sim.waitForDeliveries();
    expect(listener.requests).toHaveLength(1);
    expect(sim.deliveries()[0]).toMatchObject({ deliveryStatus: 'failed', attempts: [{ status: 410 }] });
  });

  it('retries timeouts and connection errors', async () => {
    const fast = await startSim({ webhooks: { timeoutMs: 100, maxAttempts: 2 } });
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      fast.registerWebhook({ url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/never`, events: ['workorder.created'] });
      fast.registerWebhook({ url: 'http://127.0.0.1:1/closed', events: ['workorder.created'] });
      await restApi(fast, await getToken(fast))('POST', '/workorders', { title: 'x' });
      await fast.waitForDeliveries();
      const [timedOut, refused] = fast.deliveries();
      expect(timedOut!.attempts.map((a) => [a.status, a.error])).toEqual([
        [null, 'timeout'],
        [null, 'timeout'],
      ]);
      expect(refused!.attempts.map((a) => a.status)).toEqual([null, null]);
      expect(refused!.deliveryStatus).toBe('failed');
    } finally {
      await fast.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('emits message_posted for REST messages with what the broker needs to skip its own', async () => {
    sim.registerWebhook({ url: `${listener.url}/h`, events: ['workorder.message_posted'], secret: '2c9e7f1a-4b6d-4e8f-a1b3-c5d7e9f1a3b5' });
    const wo = await createDraft();
    const thread = await restApi(sim, token)('POST', `/workorders/${wo.id}/messages?acting_user_id=1068`, { message: 'From Salesforce' });
    const msgId = thread.body.results[0].msg_id;
    sim.buyer.postMessage(wo.id, 'From the dispatcher');
    await sim.waitForDeliveries();
    const [mine, dispatcher] = listener.requests.map((r) => JSON.parse(r.body));
    expect(mine.event.params).toMatchObject({
      work_order_id: wo.id,
      message_id: msgId,
      author: { id: 1068 },
      message: { msg_id: msgId, message: 'From Salesforce' },
    });
    expect(mine.triggered_by_user.id).toBe(1068);
    expect(dispatcher.triggered_by_user.id).toBe(1069);
    expect(dispatcher.event.params.author.id).toBe(1069);
  });

  it('fans out custom field and schedule updates', async () => {
    sim.registerWebhook({ url: `${listener.url}/h`, events: ['workorder.custom_field_value_updated', 'workorder.schedule_updated'] });
    const wo = await createDraft();
    const api = restApi(sim, token);
    await api('PUT', `/workorders/${wo.id}`, {
      schedule: { service_window: { mode: 'exact', start: { utc: '2026-09-01 10:00:00' } } },
      custom_fields: { results: [{ results: [{ id: 607, value: '00001234' }] }] },
    });
    await api('PUT', `/workorders/${wo.id}/custom_fields/610`, { value: 'High' });
    await sim.waitForDeliveries();
    const bodies = listener.requests.map((r) => JSON.parse(r.body));
    expect(bodies.map((b) => b.event.name)).toEqual([
      'workorder.schedule_updated',
      'workorder.custom_field_value_updated',
      'workorder.custom_field_value_updated',
    ]);
    expect(bodies[2].event.params).toMatchObject({ custom_field_id: 610, value: 'High', previous_value: '' });
  });

  it('sends workorder.status.routed on every change of status to Routed, not per provider', async () => {
    sim.registerWebhook({
      url: `${listener.url}/h`,
      events: ['workorder.routed', 'workorder.status.routed', 'workorder.status.assigned_cancelled'],
    });
    const api = restApi(sim, token);
    const wo = await createDraft();
    await api('POST', `/workorders/${wo.id}/publish`);
    await api('POST', `/workorders/${wo.id}/route`, { technician: { id: 557 } });
    await api('POST', `/workorders/${wo.id}/mass-route`, { ids: [558] });
    await api('POST', `/workorders/${wo.id}/assignee`, { user: { id: 557 } });
    // 558's route remains, so unassigning returns the work order to Routed.
    expect((await api('DELETE', `/workorders/${wo.id}/assignee`)).body.status.id).toBe(9);
    await sim.waitForDeliveries();
    const bodies = listener.requests.map((r) => JSON.parse(r.body));
    expect(bodies.map((b) => [b.event.name, b.event.params.provider_id ?? null])).toEqual([
      ['workorder.routed', 557],
      ['workorder.status.routed', null],
      ['workorder.routed', 558],
      ['workorder.status.assigned_cancelled', 557],
      ['workorder.status.routed', null],
    ]);
    expect(bodies[1].event.params).toMatchObject({ status_id: 9, previous_status_id: 2 });
    expect(bodies[4].event.params).toMatchObject({ status_id: 9, previous_status_id: 3 });
    const catalogue = (await hooks('GET', '/events')).body.result.find((e: { name: string }) => e.name === 'workorder.status.routed');
    expect(catalogue.description).not.toMatch(/once per work order/);
  });

  it('signs with the legacy Fn-Hash when asked', async () => {
    sim.registerWebhook({
      url: `${listener.url}/h`,
      events: ['workorder.created'],
      secret: '4c6e8a0b-2d4f-4b7c-9e1a-3b5d7f9b1c3e',
      signatureMode: 'legacy',
    });
    sim.registerWebhook({
      url: `${listener.url}/both`,
      events: ['workorder.created'],
      secret: '4c6e8a0b-2d4f-4b7c-9e1a-3b5d7f9b1c3e',
      signatureMode: 'both',
    });
    await createDraft();
    await sim.waitForDeliveries();
    const [legacy, both] = listener.requests;
    const md5 = (body: string) => createHash('md5').update(`4c6e8a0b-2d4f-4b7c-9e1a-3b5d7f9b1c3e${body}`).digest('hex');
    expect(legacy!.headers['fn-hash']).toBe(md5(legacy!.body));
    expect(legacy!.headers['x-fn-signature']).toBeUndefined();
    expect(both!.headers['fn-hash']).toBe(md5(both!.body));
    expect(both!.headers['x-fn-signature']).toBe(hmac('4c6e8a0b-2d4f-4b7c-9e1a-3b5d7f9b1c3e', both!.body));
  });

  it('injects duplicate and reorder delivery faults', async () => {
    sim.registerWebhook({
      url: `${listener.url}/h`,
      events: ['workorder.created', 'workorder.status.draft', 'workorder.status.published'],
    });
    sim.injectDeliveryFault({ kind: 'duplicate', count: 1 });
    await createDraft();
    await sim.waitForDeliveries();
    const ids = listener.requests.map((r) => r.headers['x-fn-delivery-id']);
    expect(ids).toHaveLength(3);
    expect(ids[0]).toBe(ids[1]);

    listener.requests.length = 0;
    sim.injectDeliveryFault({ kind: 'reorder', count: 1 });
    const wo = await createDraft();
    await sim.waitForDeliveries();
    const names = listener.requests.map((r) => JSON.parse(r.body).event.name);
    expect(names).toEqual(['workorder.status.draft', 'workorder.created']);
    const seqs = sim.deliveries({ workOrderId: wo.id }).map((d) => d.seq);
    expect(seqs[0]).toBeLessThan(seqs[1]!);
  });

  it('in relaxed ordering, a delivery waiting for its retry does not hold back later ones', async () => {
    sim.registerWebhook({ url: `${listener.url}/h`, events: ['workorder.created', 'workorder.status.draft'] });
    listener.respond = failFirstDelivery('workorder.created', 502);
    await createDraft();
    await sim.waitForDeliveries();
    const names = listener.requests.map((r) => `${JSON.parse(r.body).event.name}#${String(r.headers['x-fn-delivery-id']).split(':')[1]}`);
    expect(names).toEqual(['workorder.created#1', 'workorder.status.draft#1', 'workorder.created#2']);
  });
});
