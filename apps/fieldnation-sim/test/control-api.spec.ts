import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startListener, type Listener } from '@broker/testing';
import type { FieldNationSim } from '../src/index';
import { getToken, publishableWorkOrder, restApi, startSim, type ApiResponse } from './sim-test-helpers';

/** Every call here goes over HTTP to `/__sim`, as a test harness in another process would. */
describe('control API (/__sim) over HTTP', () => {
  let sim: FieldNationSim;
  let listener: Listener;
  let api: (method: string, path: string, body?: unknown) => Promise<ApiResponse>;

  const ctl = async (method: string, path: string, body?: unknown): Promise<ApiResponse> => {
    const res = await fetch(`${sim.url}/__sim${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  };

  /** Events the listener received since the last reset, as `[name, params]`. */
  const events = async () => {
    await sim.waitForDeliveries();
    return listener.requests.map(
      (r) => JSON.parse(r.body) as { event: { name: string; params: Record<string, any> }; triggered_by_user: { id: number } },
    );
  };

  const publishedWorkOrder = async (): Promise<number> => {
    const { id } = (await api('POST', '/workorders', publishableWorkOrder())).body as { id: number };
    expect((await ctl('POST', `/workorders/${id}/buyer/publish`)).status).toBe(200);
    return id;
  };

  beforeAll(async () => {
    sim = await startSim({ rateLimit: false });
    listener = await startListener();
  });
  beforeEach(async () => {
    expect((await ctl('POST', '/reset')).body).toEqual({ ok: true });
    await ctl('POST', '/rate-limit', { enabled: false });
    listener.requests.length = 0;
    listener.respond = () => ({ status: 200 });
    api = restApi(sim, await getToken(sim));
  });
  afterAll(async () => {
    await sim?.close();
    await listener?.close();
  });

  describe('provider actions', () => {
    it('request records the provider as requesting and emits workorder.requested; a second request is refused', async () => {
      const id = await publishedWorkOrder();
      const registered = await ctl('POST', '/webhooks', { url: `${listener.url}/h`, events: ['workorder.requested'] });
      expect(registered.status).toBe(200);
      expect((await ctl('GET', '/webhooks')).body.webhooks.map((w: { webhookId: string }) => w.webhookId)).toEqual([
        registered.body.webhookId,
      ]);

      const res = await ctl('POST', `/workorders/${id}/provider/request`, { providerId: 558 });
      expect(res.status).toBe(200);
      expect(res.body.status).toMatchObject({ id: 2, name: 'Published' });
      expect((await api('GET', `/workorders/${id}/requests`)).body.results.map((r: { id: number }) => r.id)).toEqual([558]);

      const again = await ctl('POST', `/workorders/${id}/provider/request`, { providerId: 558 });
      expect(again.status).toBe(400);
      expect(again.body).toEqual({ status: 400, message: `Provider 558 already requested work order ${id}`, errors: [] });

      const [requested, ...rest] = await events();
      expect(rest).toEqual([]);
      expect(requested!.event).toEqual({ name: 'workorder.requested', params: { work_order_id: id, provider_id: 558, user: { id: 558 } } });
      expect(requested!.triggered_by_user.id).toBe(558);
    });

    it("decline drops the provider's route and request and emits workorder.declined; the provider can no longer accept", async () => {
      const id = await publishedWorkOrder();
      await ctl('POST', '/webhooks', { url: `${listener.url}/h`, events: ['workorder.declined'] });
      await ctl('POST', `/workorders/${id}/buyer/route`, { providerId: 557 });
      await ctl('POST', `/workorders/${id}/provider/request`, { providerId: 557 });

      const res = await ctl('POST', `/workorders/${id}/provider/decline`, { providerId: 557 });
      expect(res.status).toBe(200);
      expect(res.body.status.id).toBe(9);
      expect((await api('GET', `/workorders/${id}/providers`)).body).toEqual([]);
      const accept = await ctl('POST', `/workorders/${id}/provider/accept-route`, { providerId: 557 });
      expect(accept.status).toBe(400);
      expect(accept.body.message).toBe(`Work order ${id} is not routed to provider 557`);

      const declined = await events();
      expect(declined.map((b) => b.event)).toEqual([
        { name: 'workorder.declined', params: { work_order_id: id, provider_id: 557, user: { id: 557 } } },
      ]);
    });

    it('running-late sets the delayed sub-status with the delay and emits workorder.status.delayed', async () => {
      const id = await publishedWorkOrder();
      await ctl('POST', `/workorders/${id}/buyer/assign`, { providerId: 557 });
      await ctl('POST', '/webhooks', { url: `${listener.url}/h`, events: ['workorder.status.delayed'] });
      await ctl('POST', `/workorders/${id}/provider/confirm`);

      const res = await ctl('POST', `/workorders/${id}/provider/running-late`, { delaySeconds: 1200 });
      expect(res.status).toBe(200);
      expect(res.body.status).toMatchObject({ id: 3, sub_status: 'delayed', delay: 1200 });
      // Only the assignee may report it, and only before checking in.
      expect((await ctl('POST', `/workorders/${id}/provider/running-late`, { providerId: 558 })).status).toBe(403);
      await ctl('POST', `/workorders/${id}/provider/check-in`);
      expect((await ctl('POST', `/workorders/${id}/provider/running-late`)).status).toBe(400);

      const [delayed, ...rest] = await events();
      expect(rest).toEqual([]);
      expect(delayed!.event.params).toEqual({
        work_order_id: id,
        status_id: 3,
        previous_status_id: 3,
        sub_status: 'delayed',
        previous_sub_status: 'confirmed',
        estimated_delay: 1200,
      });
      expect(delayed!.triggered_by_user.id).toBe(557);
    });

    it('answers 404 for an unknown action or work order', async () => {
      const id = await publishedWorkOrder();
      expect((await ctl('POST', `/workorders/${id}/provider/teleport`)).body).toEqual({
        status: 404,
        message: "unknown provider action 'teleport'",
        errors: [],
      });
      expect((await ctl('POST', '/workorders/999999/provider/request')).status).toBe(404);
    });
  });

  describe('buyer actions as a UI user', () => {
    it('drive the lifecycle as user 1069 by default (or userId) and emit the same events as REST', async () => {
      const { id } = (await api('POST', '/workorders', publishableWorkOrder())).body as { id: number };
      await ctl('POST', '/webhooks', { url: `${listener.url}/h` });
      const buyer = (action: string, body?: unknown) => ctl('POST', `/workorders/${id}/buyer/${action}`, body);

      expect((await buyer('publish')).body.status.id).toBe(2);
      expect((await buyer('route', { providerId: 558 })).body.status.id).toBe(9);
      expect((await buyer('assign', { providerId: 558 })).body.assignee.user.id).toBe(558);
      expect((await buyer('custom-field', { fieldId: 610, value: 'High' })).status).toBe(200);
      expect((await buyer('custom-field', { fieldId: 610, value: 'Whenever' })).status).toBe(422);
      const posted = await buyer('message', { message: 'Ring the bell', userId: 1068 });
      expect(posted.body.msg_id).toMatch(/^\d+$/);
      expect((await buyer('message', { message: 'reply', parentId: posted.body.msg_id })).status).toBe(200);
      await ctl('POST', `/workorders/${id}/provider/complete`);
      expect((await buyer('incomplete', { reason: 'No photos' })).body.status).toMatchObject({ id: 3, sub_status: 'checked_out' });
      await ctl('POST', `/workorders/${id}/provider/complete`);
      expect((await buyer('approve')).body.status.id).toBe(5);
      expect((await buyer('cancel', { reason: 60 })).body.status).toMatchObject({ id: 7, name: 'Cancelled' });

      const bodies = await events();
      const buyerEvents = bodies.filter(
        (b) => b.triggered_by_user.id !== 558 && b.event.name !== 'workorder.created' && b.event.name !== 'workorder.status.draft',
      );
      expect(buyerEvents.map((b) => [b.event.name, b.triggered_by_user.id])).toEqual([
        ['workorder.status.published', 1069],
        ['workorder.routed', 1069],
        ['workorder.status.routed', 1069],
        ['workorder.status.assigned', 1069],
        ['workorder.custom_field_value_updated', 1069],
        ['workorder.message_posted', 1068],
        ['workorder.message_posted', 1069],
        ['workorder.status.assigned', 1069],
        ['workorder.status.approved', 1069],
        ['workorder.status.cancelled', 1069],
      ]);
      const byName = (name: string) => buyerEvents.filter((b) => b.event.name === name);
      expect(byName('workorder.custom_field_value_updated')[0]!.event.params).toMatchObject({ custom_field_id: 610, value: 'High' });
      expect(byName('workorder.message_posted')[1]!.event.params).toMatchObject({ parent_id: posted.body.msg_id, author: { id: 1069 } });
      expect(byName('workorder.status.assigned')[1]!.event.params).toMatchObject({
        reason: 'No photos',
        status_id: 3,
        previous_status_id: 4,
      });
      expect(byName('workorder.status.cancelled')[0]!.event.params).toMatchObject({
        cancel_reason: 'Scheduling conflict',
        previous_status_id: 5,
      });
    });

    it('refuses illegal transitions, unknown actions and users who are not buyers', async () => {
      const { id } = (await api('POST', '/workorders', publishableWorkOrder())).body as { id: number };
      expect((await ctl('POST', `/workorders/${id}/buyer/approve`)).body).toEqual({
        status: 400,
        message: `Cannot approve work order ${id}: its status is Draft`,
        errors: [],
      });
      expect((await ctl('POST', `/workorders/${id}/buyer/delete-everything`)).status).toBe(404);
      const provider = await ctl('POST', `/workorders/${id}/buyer/publish`, { userId: 557 });
      expect(provider.status).toBe(404);
      expect(sim.getWorkOrder(id)?.status.id).toBe(1);
    });
  });

  it('payments/run pays every approved work order and nothing else, with the amount on workorder.status.paid', async () => {
    const approved: number[] = [];
    for (let i = 0; i < 3; i++) {
      const id = await publishedWorkOrder();
      await ctl('POST', `/workorders/${id}/buyer/assign`, { providerId: 557 });
      await ctl('POST', `/workorders/${id}/provider/complete`);
      if (i < 2) {
        await ctl('POST', `/workorders/${id}/buyer/approve`);
        approved.push(id);
      }
    }
    const workDone = sim.listWorkOrders().find((w) => w.status.id === 4)!.id;
    await ctl('POST', '/webhooks', { url: `${listener.url}/h`, events: ['workorder.status.paid'] });

    const run = await ctl('POST', '/payments/run');
    expect(run.status).toBe(200);
    expect(run.body).toEqual({ paid: approved });
    for (const id of approved) expect((await ctl('GET', `/workorders/${id}`)).body.status).toMatchObject({ id: 6, name: 'Paid' });
    expect((await ctl('GET', `/workorders/${workDone}`)).body.status.id).toBe(4);
    expect((await ctl('POST', '/payments/run')).body).toEqual({ paid: [] });

    const paid = await events();
    expect(paid.map((b) => b.event.params)).toEqual(
      approved.map((id) => ({ work_order_id: id, status_id: 6, previous_status_id: 5, amount: 150 })),
    );
    expect(paid.every((b) => b.triggered_by_user.id === 1068)).toBe(true);
  });

  it('tokens/expire makes every issued token answer 401 expired; a new token works', async () => {
    const second = await getToken(sim);
    const res = await ctl('POST', '/tokens/expire');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ expired: 2 });
    for (const call of [api, restApi(sim, second)]) {
      const expired = await call('GET', '/workorders');
      expect(expired.status).toBe(401);
      expect(expired.body).toEqual({ status: 401, message: 'The access token has expired', errors: [] });
    }
    expect((await restApi(sim, await getToken(sim))('GET', '/workorders')).status).toBe(200);
    // Only tokens that were still live are counted.
    expect((await ctl('POST', '/tokens/expire')).body).toEqual({ expired: 1 });
  });

  it('rate-limit sets the token bucket and turns it off', async () => {
    expect((await ctl('POST', '/rate-limit', { perMinute: 60, burst: 2 })).body).toEqual({ ok: true });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await api('GET', '/types-of-work')).status);
    expect(statuses).toEqual([200, 200, 429]);
    const limited = await api('GET', '/types-of-work');
    expect(limited.headers.get('x-ratelimit-limit')).toBe('60');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    await ctl('POST', '/rate-limit', { enabled: false });
    for (let i = 0; i < 5; i++) expect((await api('GET', '/types-of-work')).status).toBe(200);
  });

  describe('deliveries', () => {
    it('delivery-faults duplicates the next successful delivery under the same delivery id; an unknown kind is 400', async () => {
      await ctl('POST', '/webhooks', { url: `${listener.url}/h`, events: ['workorder.created'] });
      const bad = await ctl('POST', '/delivery-faults', { kind: 'drop' });
      expect(bad.status).toBe(400);
      expect(bad.body.message).toBe("kind must be 'duplicate' or 'reorder'");
      expect((await ctl('POST', '/delivery-faults', { kind: 'duplicate', count: 1 })).body).toEqual({ ok: true });

      await api('POST', '/workorders', { title: 'one' });
      await api('POST', '/workorders', { title: 'two' });
      await sim.waitForDeliveries();
      const ids = listener.requests.map((r) => String(r.headers['x-fn-delivery-id']));
      expect(ids).toHaveLength(3);
      expect(ids[1]).toBe(ids[0]);
      expect(ids[2]).not.toBe(ids[0]);
      const [first] = (await ctl('GET', '/deliveries?eventName=workorder.created')).body.deliveries;
      expect(first).toMatchObject({ duplicatesSent: 1, deliveryStatus: 'delivered' });
    });

    it('deliveries/{id}/retry re-sends a failed delivery under the same uuid with the next attempt; unknown ids are 404', async () => {
      const hook = (
        await ctl('POST', '/webhooks', {
          url: `${listener.url}/h`,
          events: ['workorder.created'],
          secret: '5d7f9b1c-3e5a-4c8d-8f2b-4c6e8a0c2d4f',
        })
      ).body;
      listener.respond = () => ({ status: 404 });
      const { id } = (await api('POST', '/workorders', { title: 'x' })).body as { id: number };
      await sim.waitForDeliveries();

      const failed = (await ctl('GET', `/deliveries?webhookId=${hook.webhookId}&deliveryStatus=failed&workOrderId=${id}`)).body.deliveries;
      expect(failed).toHaveLength(1);
      const { deliveryId } = failed[0];

      listener.respond = () => ({ status: 200 });
      // The X-FN-Delivery-Id value (uuid:attempt) is accepted as well as the bare uuid.
      expect((await ctl('POST', `/deliveries/${deliveryId}:1/retry`)).body).toEqual({ ok: true });
      await sim.waitForDeliveries();

      expect(listener.requests.map((r) => r.headers['x-fn-delivery-id'])).toEqual([`${deliveryId}:1`, `${deliveryId}:2`]);
      expect(listener.requests[1]!.body).toBe(listener.requests[0]!.body);
      const [record] = (await ctl('GET', `/deliveries?webhookId=${hook.webhookId}`)).body.deliveries;
      expect(record).toMatchObject({ deliveryStatus: 'delivered' });
      expect(record.attempts.map((a: { attempt: number; status: number; manual: boolean }) => [a.attempt, a.status, a.manual])).toEqual([
        [1, 404, false],
        [2, 200, true],
      ]);

      const unknown = await ctl('POST', '/deliveries/00000000-0000-0000-0000-000000000000/retry');
      expect(unknown.status).toBe(404);
      expect(unknown.body).toEqual({ status: 404, message: 'delivery 00000000-0000-0000-0000-000000000000 not found', errors: [] });
    });
  });
});
