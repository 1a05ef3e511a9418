import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startListener, type Listener } from '@broker/testing';
import type { FieldNationSim } from '../src/index';
import { getToken, hmac, publishableWorkOrder, restApi, startSim, webhookApi, json } from './sim-test-helpers';

const SECRET = '01999f51-5c66-4449-b441-6b4a053fee6a';

/** The events of a work order from its creation until its technician is on the way, in order. */
const UNTIL_ON_MY_WAY = [
  'workorder.created',
  'workorder.status.draft',
  'workorder.status.published',
  'workorder.routed',
  'workorder.status.routed',
  'workorder.status.assigned',
  'workorder.status.confirmed',
  'workorder.status.on_my_way',
];

describe('full work-order lifecycle over REST and the control API', () => {
  let sim: FieldNationSim;
  let listener: Listener;

  beforeAll(async () => {
    // Strict: one delivery below fails and is retried, and only strict ordering keeps it in place.
    sim = await startSim({ webhooks: { ordering: 'strict' } });
    listener = await startListener();
  });

  afterAll(async () => {
    await sim?.close();
    await listener?.close();
  });

  it('emits every webhook in order, signed, and redelivers a failed one under the same uuid', async () => {
    const token = await getToken(sim);
    const api = restApi(sim, token);
    const hooks = webhookApi(sim, token);

    const created = await hooks('POST', '', {
      url: `${listener.url}/fn`,
      method: 'post',
      status: 'active',
      events: (await hooks('GET', '/events')).body.result.map((e: { name: string }) => e.name),
      secret: SECRET,
    });
    expect(created.status).toBe(200);
    const webhookId: string = created.body.result.webhookId;

    // The first attempt of the publish event fails with a 503; Field Nation retries it.
    let failedOnce = false;
    listener.respond = (req) => {
      if (!failedOnce && req.body.includes('"workorder.status.published"')) {
        failedOnce = true;
        return { status: 503, body: 'busy' };
      }
      return { status: 200, body: '{"ok":true}' };
    };

    const wo = await api('POST', '/workorders', publishableWorkOrder());
    expect(wo.status).toBe(200);
    expect(wo.body.status).toMatchObject({ id: 1, name: 'Draft' });
    const id: number = wo.body.id;

    expect((await api('POST', `/workorders/${id}/publish`)).body.status.id).toBe(2);
    expect((await api('POST', `/workorders/${id}/route`, { technician: { id: 557 } })).status).toBe(200);
    expect(sim.getWorkOrder(id)?.status.id).toBe(9);

    await fetch(`${sim.url}/__sim/workorders/${id}/provider/accept-route`, { method: 'POST' });
    expect(sim.getWorkOrder(id)?.status).toMatchObject({ id: 3, name: 'Assigned' });
    await fetch(`${sim.url}/__sim/workorders/${id}/provider/confirm`, { method: 'POST' });
    sim.technician.onMyWay(id);
    const checkedIn = await fetch(`${sim.url}/__sim/workorders/${id}/provider/check-in`, { method: 'POST' }).then(json);
    expect(checkedIn.status).toMatchObject({ id: 3, sub_status: 'checked_in', display: 'Assigned: Checked in' });

    const posted = await api('POST', `/workorders/${id}/messages`, { message: 'Please use the side entrance.' });
    expect(posted.status).toBe(200);
    const techMessage = await fetch(`${sim.url}/__sim/workorders/${id}/provider/message`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ message: 'On site, starting now.' }),
    }).then(json);
    expect(techMessage.msg_id).toMatch(/^\d+$/);

    sim.technician.checkOut(id);
    await fetch(`${sim.url}/__sim/workorders/${id}/provider/complete`, { method: 'POST' });
    expect((await api('POST', `/workorders/${id}/approve`)).body.status.id).toBe(5);
    const paid = await fetch(`${sim.url}/__sim/workorders/${id}/pay`, { method: 'POST' }).then(json);
    expect(paid.status).toMatchObject({ id: 6, name: 'Paid' });

    await sim.waitForDeliveries();
    const expected = [
      ...UNTIL_ON_MY_WAY,
      'workorder.status.checked_in',
      'workorder.task_completed',
      'workorder.message_posted',
      'workorder.message_posted',
      'workorder.status.checked_out',
      'workorder.task_completed',
      'workorder.status.work_done',
      'workorder.status.approved',
      'workorder.status.paid',
    ];
    const received = listener.requests;
    expect(received).toHaveLength(expected.length + 1);

    for (const req of received) {
      expect(req.headers['x-fn-signature']).toBe(hmac(SECRET, req.body));
      expect(req.headers['x-fn-webhook-id']).toBe(webhookId);
      expect(req.headers['x-fn-delivery-id']).toMatch(/^[0-9a-f-]{36}:\d+$/);
      expect(req.headers['x-fn-event-trace-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(Number(req.headers['x-fn-request-timestamp'])).toBeGreaterThan(Date.now() - 60_000);
      expect(req.headers['content-type']).toBe('application/json');
    }

    // The failed attempt and its redelivery: same uuid, attempt 1 then 2, identical bytes.
    const [first, second] = received.filter((r) => r.body.includes('"workorder.status.published"'));
    const [uuid1, attempt1] = String(first!.headers['x-fn-delivery-id']).split(':');
    const [uuid2, attempt2] = String(second!.headers['x-fn-delivery-id']).split(':');
    expect(uuid2).toBe(uuid1);
    expect([attempt1, attempt2]).toEqual(['1', '2']);
    expect(second!.body).toBe(first!.body);

    // Dropping the failed attempt leaves the events exactly in the order they were produced.
    const delivered = received.filter((r) => r !== first).map((r) => JSON.parse(r.body));
    expect(delivered.map((b) => b.event.name)).toEqual(expected);
    for (const body of delivered) {
      expect(body.workorder.id).toBe(id);
      expect(body.event.params.work_order_id).toBe(id);
      expect(typeof body.timestamp).toBe('string');
      expect(body.triggered_by_user.id).toEqual(expect.any(Number));
    }

    const byName = (name: string) => delivered.filter((b) => b.event.name === name);
    expect(byName('workorder.status.published')[0].event.params).toMatchObject({ status_id: 2, previous_status_id: 1 });
    expect(byName('workorder.status.published')[0].workorder.status.id).toBe(2);
    expect(byName('workorder.status.checked_in')[0].triggered_by_user.id).toBe(557);
    expect(byName('workorder.task_completed')[0].event.params.task.type.key).toBe('checkin');

    const [buyerMessage, providerMessage] = byName('workorder.message_posted');
    expect(buyerMessage.triggered_by_user.id).toBe(1068);
    expect(buyerMessage.event.params).toMatchObject({
      author: { id: 1068, role: 'buyer' },
      message: { message: 'Please use the side entrance.' },
    });
    expect(buyerMessage.event.params.message_id).toBe(
      posted.body.results.find((m: { message: string }) => m.message === 'Please use the side entrance.').msg_id,
    );
    expect(providerMessage.triggered_by_user.id).toBe(557);
    expect(providerMessage.event.params).toMatchObject({ message_id: techMessage.msg_id, author: { id: 557, role: 'provider' } });

    const log = sim.deliveries({ webhookId });
    expect(log.every((d) => d.deliveryStatus === 'delivered')).toBe(true);
    expect(log.find((d) => d.eventName === 'workorder.status.published')?.attempts.map((a) => a.status)).toEqual([503, 200]);
  });
});

describe('delivery order in the default relaxed mode', () => {
  let sim: FieldNationSim;
  let listener: Listener;

  beforeAll(async () => {
    sim = await startSim();
    listener = await startListener();
  });

  afterAll(async () => {
    await sim?.close();
    await listener?.close();
  });

  it('delivers every event to each webhook in the order produced when no delivery fails', async () => {
    const a = sim.registerWebhook({ url: `${listener.url}/a` });
    const b = sim.registerWebhook({ url: `${listener.url}/b` });
    const api = restApi(sim, await getToken(sim));

    // Actions back to back, several emitting more than one event, so later batches are produced
    // while earlier deliveries are still on the wire.
    const { id } = (await api('POST', '/workorders', publishableWorkOrder())).body as { id: number };
    await api('POST', `/workorders/${id}/publish`);
    await api('POST', `/workorders/${id}/route`, { technician: { id: 557 } });
    sim.technician.acceptRoute(id);
    sim.technician.confirm(id);
    sim.technician.onMyWay(id);
    sim.technician.runningLate(id, { delaySeconds: 600 });
    sim.technician.checkIn(id);
    sim.buyer.postMessage(id, 'Gate code 1234');
    sim.technician.checkOut(id);
    sim.technician.complete(id, { closeoutNotes: 'Swapped the unit' });
    await api('POST', `/workorders/${id}/approve`);
    sim.pay(id);
    await sim.waitForDeliveries();

    const expected = [
      ...UNTIL_ON_MY_WAY,
      'workorder.status.delayed',
      'workorder.status.checked_in',
      'workorder.task_completed',
      'workorder.message_posted',
      'workorder.status.checked_out',
      'workorder.task_completed',
      'workorder.custom_field_value_updated',
      'workorder.task_completed',
      'workorder.status.work_done',
      'workorder.status.approved',
      'workorder.status.paid',
    ];
    for (const hook of [a, b]) {
      const received = listener.requests.filter((r) => r.url === `/${hook === a ? 'a' : 'b'}`);
      expect(received.map((r) => JSON.parse(r.body).event.name)).toEqual(expected);
      // Arrival order is production order (seq), and each went out once, on its first attempt.
      const bySeq = sim.deliveries({ webhookId: hook.webhookId }).sort((x, y) => x.seq - y.seq);
      expect(received.map((r) => String(r.headers['x-fn-delivery-id']))).toEqual(bySeq.map((d) => `${d.deliveryId}:1`));
    }
  });
});
