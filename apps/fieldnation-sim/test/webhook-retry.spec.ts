import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startListener, type Listener } from '@broker/testing';
import type { FieldNationSim } from '../src/index';
import type { DeliveryRecord } from '../src/webhooks/webhook-sender';
import { getToken, restApi, startSim, webhookApi, failFirstDelivery } from './sim-test-helpers';

/** Polls until `pick` returns a value, for states reached between two HTTP round trips. */
async function until<T>(pick: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = pick();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 2));
  }
}

const attemptOf = (deliveryIdHeader: unknown) => Number(String(deliveryIdHeader).split(':')[1]);

describe('manual retries next to automatic ones', () => {
  let sim: FieldNationSim | undefined;
  let listener: Listener | undefined;
  const servers: http.Server[] = [];

  afterEach(async () => {
    await sim?.close();
    await listener?.close();
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    sim = undefined;
    listener = undefined;
  });

  it.each(['relaxed', 'strict'] as const)(
    'in %s ordering, a manual retry during the backoff is sent in place of the automatic attempt',
    async (ordering) => {
      // A 1 s backoff leaves ample time to issue the manual retry while the automatic one waits.
      sim = await startSim({ timeFactor: 1, rateLimit: false, webhooks: { ordering, baseBackoffMs: 1_000, maxAttempts: 4 } });
      listener = await startListener();
      listener.respond = failFirstDelivery('workorder.created', 500);
      const token = await getToken(sim);
      sim.registerWebhook({ url: `${listener.url}/h`, events: ['workorder.created', 'workorder.status.draft'] });
      await restApi(sim, token)('POST', '/workorders', { title: 'x' });

      // Relaxed: the draft event goes out during the backoff, so wait for it to make the order definite.
      const created = await until(() =>
        ordering === 'relaxed' && !sim!.deliveries({ eventName: 'workorder.status.draft', deliveryStatus: 'delivered' }).length
          ? undefined
          : sim!.deliveries({ eventName: 'workorder.created', deliveryStatus: 'retrying' })[0],
      );
      const retried = await webhookApi(sim, token)('PATCH', `/delivery-logs/${created.deliveryId}/retry`);
      expect(retried.status).toBe(200);
      expect(retried.body.result.job_id).toEqual(expect.any(String));
      // Would also wait for a still-armed automatic retry: the timer must be gone, not merely late.
      await sim.waitForDeliveries();

      const sent = listener.requests.map((r) => `${JSON.parse(r.body).event.name}#${attemptOf(r.headers['x-fn-delivery-id'])}`);
      expect(sent).toEqual(
        ordering === 'strict'
          ? ['workorder.created#1', 'workorder.created#2', 'workorder.status.draft#1']
          : ['workorder.created#1', 'workorder.status.draft#1', 'workorder.created#2'],
      );
      const [record] = sim.deliveries({ eventName: 'workorder.created' });
      expect(record!.deliveryStatus).toBe('delivered');
      expect(record!.attempts.map((a) => [a.attempt, a.status, a.manual])).toEqual([
        [1, 500, false],
        [2, 200, true],
      ]);
    },
  );

  it('refuses a manual retry while an attempt is on the wire or before the first attempt, so attempt numbers stay unique and increasing', async () => {
    // A receiver that fails the first request and holds the second until the test releases it.
    const seen: Array<{ body: string; deliveryId: string }> = [];
    let release: ((status: number) => void) | undefined;
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        seen.push({ body, deliveryId: String(req.headers['x-fn-delivery-id']) });
        if (seen.length === 1) return res.writeHead(500).end();
        if (seen.length === 2) return void (release = (status) => res.writeHead(status).end());
        res.writeHead(200).end();
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

    sim = await startSim({ rateLimit: false, webhooks: { ordering: 'strict', maxAttempts: 5 } });
    const token = await getToken(sim);
    const hooks = webhookApi(sim, token);
    sim.registerWebhook({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/h`,
      events: ['workorder.created', 'workorder.status.draft'],
    });
    await restApi(sim, token)('POST', '/workorders', { title: 'x' });

    await until(() => (release ? true : undefined));
    const byName = (name: string): DeliveryRecord => sim!.deliveries({ eventName: name })[0]!;
    const created = byName('workorder.created');
    const draft = byName('workorder.status.draft');

    const whileSending = await hooks('PATCH', `/delivery-logs/${created.deliveryId}/retry`);
    expect(whileSending.status).toBe(409);
    expect(whileSending.body).toMatchObject({
      errors: [{ code: 409, message: expect.stringContaining('attempt in progress') }],
      result: {},
    });
    const overControl = await fetch(`${sim.url}/__sim/deliveries/${created.deliveryId}:2/retry`, { method: 'POST' });
    expect(overControl.status).toBe(409);
    expect(() => sim!.retryDelivery(created.deliveryId)).toThrow(/attempt in progress/);

    // Strict ordering holds the draft event behind the created one: it has no attempt to repeat yet.
    expect(draft.attempts).toEqual([]);
    const notYet = await hooks('PATCH', `/delivery-logs/${draft.deliveryId}/retry`);
    expect(notYet.status).toBe(409);
    expect(notYet.body.errors[0].message).toContain('not been attempted yet');

    release!(503);
    await sim.waitForDeliveries();

    expect(seen.map((s) => `${JSON.parse(s.body).event.name}#${attemptOf(s.deliveryId)}`)).toEqual([
      'workorder.created#1',
      'workorder.created#2',
      'workorder.created#3',
      'workorder.status.draft#1',
    ]);
    expect(created.attempts.map((a) => [a.attempt, a.status, a.manual])).toEqual([
      [1, 500, false],
      [2, 503, false],
      [3, 200, false],
    ]);
    expect(new Set(seen.map((s) => s.deliveryId)).size).toBe(seen.length);
    expect(created.deliveryStatus).toBe('delivered');
  });

  it('reset drops a strict-mode delivery waiting for its retry and leaves the sender idle', async () => {
    sim = await startSim({ timeFactor: 1, rateLimit: false, webhooks: { ordering: 'strict', baseBackoffMs: 60_000 } });
    listener = await startListener();
    listener.respond = () => ({ status: 500 });
    sim.registerWebhook({ url: `${listener.url}/h`, events: ['workorder.created', 'workorder.status.draft'] });
    await restApi(sim, await getToken(sim))('POST', '/workorders', { title: 'x' });
    await until(() => sim!.deliveries({ deliveryStatus: 'retrying' })[0]);
    sim.reset();
    await sim.waitForDeliveries(500);
    expect(sim.deliveries()).toEqual([]);
    // The parked pump must not wake up later and send the queued draft event after all.
    expect(listener.requests).toHaveLength(1);
  });
});
