import { createHash, createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIngress, type IngressUnderTest } from './ingress-test-kit';

let ingress: IngressUnderTest;
beforeAll(async () => {
  ingress = await startIngress();
});
afterAll(async () => {
  await ingress?.close();
});

// Field Nation's format: ISO 8601 with the Central offset (reference/fieldnation.md 8.4), here one hour ago.
const recent = () => new Date(Date.now() - 3_600_000 - 6 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, '-06:00');
const body = (event = 'workorder.status.assigned', id = 100001, timestamp: unknown = recent()) =>
  JSON.stringify({
    event: { name: event, params: { work_order_id: id, status_id: 3 } },
    timestamp,
    triggered_by_user: { id: 557 },
    workorder: { id, status: { id: 3, name: 'Assigned' } },
  });
const hash = (raw: string) => createHash('sha256').update(raw).digest('hex');
const sign = (raw: string, secret = '5d1f0a3c-7b2e-4c8d-9a6f-1e2b3c4d5e6f') =>
  `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;

async function send(raw: string, headers: Record<string, string>, connection = 'demo') {
  return fetch(`${ingress.url}/fieldnation/webhooks/${connection}`, {
    method: 'POST',
    body: raw,
    headers: { 'content-type': 'application/json', ...headers },
  });
}
const count = async () =>
  Object.values(await ingress.eventQueue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed')).reduce((a, b) => a + b, 0);

describe('Field Nation webhook endpoint', () => {
  it('stores a signed delivery keyed by the hash of its body and collapses redeliveries', async () => {
    const raw = body();
    const uuid = randomUUID();
    const before = await count();
    const first = await send(raw, {
      'x-fn-signature': sign(raw),
      'x-fn-delivery-id': `${uuid}:1`,
      'x-fn-request-timestamp': String(Date.now()),
    });
    expect(first.status).toBe(200);
    const again = await send(raw, { 'x-fn-signature': sign(raw), 'x-fn-delivery-id': `${uuid}:2` });
    expect(again.status).toBe(200);
    expect(await count()).toBe(before + 1);
    const job = await ingress.eventQueue.getJob(`fn-demo-${hash(raw)}`);
    const sent = (JSON.parse(raw) as { timestamp: string }).timestamp;
    expect(job?.data).toMatchObject({
      connectionId: 'demo',
      deliveryId: hash(raw),
      eventName: 'workorder.status.assigned',
      workOrderId: 100001,
      occurredAt: new Date(sent).toISOString(),
    });
  });

  it('acknowledges a captured delivery replayed under a new delivery id, or none, without storing it again', async () => {
    const raw = body('workorder.status.work_done', 100010);
    const before = await count();
    expect((await send(raw, { 'x-fn-signature': sign(raw), 'x-fn-delivery-id': `${randomUUID()}:1` })).status).toBe(200);
    expect((await send(raw, { 'x-fn-signature': sign(raw), 'x-fn-delivery-id': `${randomUUID()}:1` })).status).toBe(200);
    expect((await send(raw, { 'x-fn-signature': sign(raw) })).status).toBe(200);
    // Three at once (concurrent replays) collapse as well.
    const burst = await Promise.all(
      [1, 2, 3].map(() => send(raw, { 'x-fn-signature': sign(raw), 'x-fn-delivery-id': `${randomUUID()}:1` })),
    );
    expect(burst.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(await count()).toBe(before + 1);
  });

  it.each([
    ['older than the retry horizon (9 days)', () => new Date(Date.now() - 9 * 86_400_000).toISOString(), /older than/],
    ['absurd (year 275760)', () => '+275760-09-13T00:00:00.000Z', /not an ISO 8601/],
    ['absurd (epoch 10^20 ms)', () => 1e20, /future/],
    ['not a time', () => 'yesterday', /not an ISO 8601/],
    ['in the future', () => new Date(Date.now() + 86_400_000).toISOString(), /future/],
    ['missing (null)', () => null, /no timestamp/],
  ])('answers a signed delivery whose timestamp is %s with 400 and stores nothing', async (_name, timestamp, message) => {
    const raw = body('workorder.status.assigned', 100011, timestamp());
    const before = await count();
    const res = await send(raw, { 'x-fn-signature': sign(raw), 'x-fn-delivery-id': `${randomUUID()}:1` });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(message);
    expect(await count()).toBe(before);
  });

  it('answers signed 20,000-level JSON with 400 (permanent), not 5xx, and stays healthy', async () => {
    const deep = `{"event":{"name":"x"},"workorder":{"id":1},"timestamp":"${new Date().toISOString()}","x":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    const before = await count();
    const res = await send(deep, { 'x-fn-signature': sign(deep), 'x-fn-delivery-id': `${randomUUID()}:1` });
    expect(res.status).toBe(400);
    expect(await count()).toBe(before);
    // Brackets inside strings are text, not nesting.
    const text = body('workorder.status.assigned', 100012).replace('"Assigned"', `"${'['.repeat(500)}"`);
    expect((await send(text, { 'x-fn-signature': sign(text), 'x-fn-delivery-id': `${randomUUID()}:1` })).status).toBe(200);
    expect((await fetch(`${ingress.url}/healthz`)).status).toBe(200);
  });

  it.each([
    ['a missing signature', () => ({}), 401],
    ['a wrong secret', (raw: string) => ({ 'x-fn-signature': sign(raw, 'not-the-secret') }), 401],
    ['a malformed signature header', () => ({ 'x-fn-signature': 'md5=zzzz' }), 401],
    ['a tampered body', (raw: string) => ({ 'x-fn-signature': sign(raw.replace('assigned', 'approved')) }), 401],
  ])('answers %s with 401 and stores nothing', async (_name, headers, status) => {
    const raw = body();
    const before = await count();
    const res = await send(raw, { ...headers(raw), 'x-fn-delivery-id': `${randomUUID()}:1` });
    expect(res.status).toBe(status);
    expect(await count()).toBe(before);
  });

  it('answers malformed JSON and a malformed delivery id with 400 after verifying the signature', async () => {
    const bad = '{"event": ';
    expect((await send(bad, { 'x-fn-signature': sign(bad), 'x-fn-delivery-id': `${randomUUID()}:1` })).status).toBe(400);
    const raw = body();
    expect((await send(raw, { 'x-fn-signature': sign(raw), 'x-fn-delivery-id': 'not a delivery id' })).status).toBe(400);
    const noWo = JSON.stringify({ event: { name: 'workorder.created' } });
    expect((await send(noWo, { 'x-fn-signature': sign(noWo), 'x-fn-delivery-id': `${randomUUID()}:1` })).status).toBe(400);
  });

  it('accepts the legacy Fn-Hash only where the connection allows it', async () => {
    const raw = body('workorder.status.work_done', 100002);
    const legacy = createHash('md5').update(`8e4a2b6c-1d3f-4a5b-8c7d-9e0f1a2b3c4d${raw}`).digest('hex');
    expect((await send(raw, { 'fn-hash': legacy, 'x-fn-delivery-id': `${randomUUID()}:1` }, 'locked')).status).toBe(200);
    const demoLegacy = createHash('md5').update(`5d1f0a3c-7b2e-4c8d-9a6f-1e2b3c4d5e6f${raw}`).digest('hex');
    expect((await send(raw, { 'fn-hash': demoLegacy, 'x-fn-delivery-id': `${randomUUID()}:1` })).status).toBe(401);
  });

  it('keys a delivery without a delivery id (legacy) by its signed body, so a redelivery collapses', async () => {
    const raw = body('workorder.status.checked_in', 100003);
    const legacy = createHash('md5').update(`8e4a2b6c-1d3f-4a5b-8c7d-9e0f1a2b3c4d${raw}`).digest('hex');
    const before = await count();
    expect((await send(raw, { 'fn-hash': legacy }, 'locked')).status).toBe(200);
    expect((await send(raw, { 'fn-hash': legacy }, 'locked')).status).toBe(200);
    expect(await count()).toBe(before + 1);
    const other = body('workorder.status.checked_out', 100003);
    expect(
      (await send(other, { 'fn-hash': createHash('md5').update(`8e4a2b6c-1d3f-4a5b-8c7d-9e0f1a2b3c4d${other}`).digest('hex') }, 'locked'))
        .status,
    ).toBe(200);
    expect(await count()).toBe(before + 2);
  });

  it('answers 404 for an unknown connection', async () => {
    const raw = body();
    expect((await send(raw, { 'x-fn-signature': sign(raw), 'x-fn-delivery-id': `${randomUUID()}:1` }, 'nope')).status).toBe(404);
  });
});

describe('Field Nation webhook endpoint without Redis', () => {
  it('answers 503 so that Field Nation retries', async () => {
    const down = await startIngress({ redisUrl: 'redis://127.0.0.1:1' });
    try {
      const raw = body();
      const res = await fetch(`${down.url}/fieldnation/webhooks/demo`, {
        method: 'POST',
        body: raw,
        headers: { 'x-fn-signature': sign(raw), 'x-fn-delivery-id': `${randomUUID()}:1` },
      });
      expect(res.status).toBe(503);
    } finally {
      await down.close();
    }
  });
});
