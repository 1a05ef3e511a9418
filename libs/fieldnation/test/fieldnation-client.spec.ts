import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '@broker/runtime';
import { startListener, type Listener } from '@broker/testing';
import { startFieldNationSim, type FieldNationSim } from '../../../apps/fieldnation-sim/src/index';
import {
  FieldNationClient,
  FieldNationError,
  customFieldValue,
  verifyWebhookSignature,
  type FieldNationClientOptions,
  type RequestEvent,
} from '../src/index';

const logger = createLogger({ service: 'fieldnation-client-test', level: 'silent' });

const workOrder = (sfId: string, extra: Record<string, unknown> = {}) => ({
  title: `Case ${sfId}`,
  types_of_work: [{ id: 62, isPrimary: true }],
  location: { mode: 'custom' as const, address1: '1 Main St', city: 'Minneapolis', state: 'MN', zip: '55401', country: 'US' },
  schedule: { service_window: { mode: 'exact' as const, start: { utc: '2026-07-01 14:00:00' } } },
  pay: { type: 'fixed' as const, base: { amount: 100, units: 1 } },
  custom_fields: { results: [{ results: [{ id: 606, value: sfId }] }] },
  ...extra,
});

describe('FieldNationClient against the simulator', () => {
  let sim: FieldNationSim;
  let delays: number[];

  beforeAll(async () => {
    sim = await startFieldNationSim({ timeFactor: 1000, rateLimit: false, logger });
  });
  beforeEach(() => {
    sim.reset();
    delays = [];
  });
  afterAll(async () => sim?.close());

  /** Sleeps are recorded and shortened so backoff and Retry-After are checked without waiting. */
  const client = (options: Partial<FieldNationClientOptions> = {}) =>
    new FieldNationClient({
      environment: sim.url,
      credentials: sim.credentials,
      retry: { maxAttempts: 4, baseDelayMs: 20 },
      rateLimit: false,
      logger,
      sleep: async (ms) => {
        delays.push(ms);
        await new Promise((r) => setTimeout(r, 1));
      },
      ...options,
    });

  describe('tokens', () => {
    it('requests one token for many concurrent and sequential calls, passed as ?access_token=', async () => {
      const fn = client();
      await Promise.all(Array.from({ length: 10 }, () => fn.listCustomFields()));
      for (let i = 0; i < 5; i++) await fn.listCustomFields();
      expect(sim.counters().tokenRequests).toBe(1);
      expect(fn.stats()).toMatchObject({ tokenRequests: 1, calls: { 'GET /custom-fields': 15 } });
    });

    it('re-authenticates once after a 401 (expired token)', async () => {
      const fn = client();
      await fn.listCustomFields();
      sim.expireTokens();
      expect(await fn.listCustomFields()).toContainEqual(expect.objectContaining({ id: 606, name: 'Salesforce Case Id' }));
      expect(sim.counters().tokenRequests).toBe(2);
      expect(fn.stats().reauthentications).toBe(1);
    });

    it('renews a token before it expires instead of waiting for a 401', async () => {
      const shortLived = await startFieldNationSim({ tokenTtlSeconds: 1, rateLimit: false, logger });
      try {
        const fn = new FieldNationClient({ environment: shortLived.url, credentials: shortLived.credentials, rateLimit: false });
        await fn.listCustomFields();
        await fn.listCustomFields();
        await new Promise((r) => setTimeout(r, 600));
        await fn.listCustomFields();
        const counters = shortLived.counters();
        expect(counters.tokenRequests).toBe(2);
        expect(counters.routes['GET /api/rest/v2/custom-fields']!.byStatus).toEqual({ 200: 3 });
      } finally {
        await shortLived.close();
      }
    });

    it('fails permanently on bad credentials', async () => {
      const fn = client({ credentials: { ...sim.credentials, password: 'wrong' } });
      const err = await fn.getWorkOrder(1).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FieldNationError);
      expect(err).toMatchObject({ kind: 'auth', status: 400, retryable: false });
      expect(sim.counters().tokenRequests).toBe(1);
    });
  });

  describe('retries', () => {
    it('retries through a 500 storm with exponential backoff', async () => {
      const fn = client({ random: () => 1 });
      const { id } = await fn.createWorkOrder(workOrder('500A'));
      sim.injectFault({ method: 'GET', path: `/workorders/${id}$`, status: 500, count: 3 });
      const wo = await fn.getWorkOrder(id);
      expect(wo.id).toBe(id);
      expect(delays).toEqual([20, 40, 80]);
      expect(fn.stats()).toMatchObject({ retries: 3, statuses: { 500: 3 } });
      expect(sim.counters().routes['GET /api/rest/v2/workorders/:id']).toEqual({ calls: 4, byStatus: { 200: 1, 500: 3 } });
    });

    it('gives up after maxAttempts with a retryable error', async () => {
      const fn = client({ retry: { maxAttempts: 3, baseDelayMs: 5 } });
      sim.injectFault({ path: '/workorders/424242$', status: 502 });
      const err = (await fn.getWorkOrder(424242).catch((e: unknown) => e)) as FieldNationError;
      expect(err).toMatchObject({ kind: 'server', status: 502, retryable: true, attempts: 3 });
    });

    it('honours Retry-After on 429', async () => {
      const fn = client();
      sim.injectFault({ path: '/custom-fields', status: 429, retryAfterSeconds: 2, count: 2 });
      await fn.listCustomFields();
      expect(delays).toEqual([2000, 2000]);
      expect(fn.stats().rateLimited).toBe(2);
    });

    it('honours a real 429 from the simulator rate limit', async () => {
      sim.setRateLimit({ perMinute: 600, burst: 1 });
      try {
        const fn = new FieldNationClient({ environment: sim.url, credentials: sim.credentials, rateLimit: false, logger });
        await fn.listCustomFields();
        await fn.listCustomFields();
        expect(fn.stats().rateLimited).toBe(1);
        expect(sim.counters().rateLimited).toBe(1);
      } finally {
        sim.setRateLimit(false);
      }
    });

    it('surfaces retryable errors at once when retries are off (BullMQ backs off instead)', async () => {
      const fn = client({ retry: false });
      sim.injectFault({ path: '/custom-fields', status: 429, retryAfterSeconds: 7, count: 1 });
      const err = (await fn.listCustomFields().catch((e: unknown) => e)) as FieldNationError;
      expect(err).toMatchObject({ kind: 'rate_limited', status: 429, retryable: true, retryAfterMs: 7000, attempts: 1 });
      expect(delays).toEqual([]);
    });

    it('does not retry 422 validation errors and parses the messages', async () => {
      const fn = client();
      const err = (await fn
        .createWorkOrder({ title: '', pay: { type: 'fixed', base: { amount: -5 } } })
        .catch((e: unknown) => e)) as FieldNationError;
      expect(err).toBeInstanceOf(FieldNationError);
      expect(err).toMatchObject({ kind: 'validation', status: 422, retryable: false });
      expect(err.validationMessages).toEqual(['title: must not be empty', 'pay.base.amount: must be greater than 0']);
      expect(sim.counters().routes['POST /api/rest/v2/workorders']!.calls).toBe(1);
    });

    it('does not resend a create after a 5xx (it may exist) but marks the error ambiguous', async () => {
      const fn = client();
      sim.injectFault({ method: 'POST', path: '/workorders$', status: 500, count: 1 });
      const err = (await fn.createWorkOrder(workOrder('500B')).catch((e: unknown) => e)) as FieldNationError;
      expect(err).toMatchObject({ status: 500, retryable: true, ambiguous: true, attempts: 1 });
    });

    it('retries timeouts of idempotent calls', async () => {
      const fn = client({ timeoutMs: 150 });
      sim.injectFault({ path: '/custom-fields', timeout: true, count: 1 });
      await fn.listCustomFields();
      expect(fn.stats().statuses).toEqual({ 0: 1, 200: 2 }); // token request + the retried call
      expect(fn.stats().retries).toBe(1);
    });

    it('reports network errors as retryable', async () => {
      const fn = new FieldNationClient({
        environment: 'http://127.0.0.1:1',
        credentials: sim.credentials,
        retry: { maxAttempts: 2, baseDelayMs: 1 },
        rateLimit: false,
      });
      const err = (await fn.getWorkOrder(1).catch((e: unknown) => e)) as FieldNationError;
      expect(err).toMatchObject({ kind: 'network', status: 0, retryable: true, attempts: 2 });
    });

    it('spaces calls with the client-side token bucket', async () => {
      const fn = client({ rateLimit: { requestsPerSecond: 5, burst: 1 } });
      await fn.listCustomFields();
      await fn.listCustomFields();
      await fn.listCustomFields();
      // Token request, then three calls at 5/s: each waits one more 200 ms slot (sleeps are not real here).
      expect(delays).toHaveLength(3);
      expect(delays[0]).toBeGreaterThan(150);
      expect(delays[1]! - delays[0]!).toBeGreaterThan(150);
      expect(delays[2]! - delays[1]!).toBeGreaterThan(150);
    });
  });

  describe('finding a work order after an ambiguous create', () => {
    // Every query parameter GET /api/rest/v2/workorders documents (OAS-R rest-v2.yaml 48-101 and
    // the components they reference, 4274-4696).
    const DOCUMENTED = new Set(
      (
        'list columns page per_page view sort order sticky stickyName f_ f_max_approval_time f_rating f_flightboard_tomorrow f_requests ' +
        'f_counter_offers f_work_order_id f_hourly f_fixed f_device f_pay f_templates f_type_of_work f_time_zone f_mode f_company ' +
        'f_worked_with f_manager f_client f_project f_approval_window f_review_window f_network f_auto_assign f_schedule f_created ' +
        'f_published f_routed f_published_routed f_completed f_approved_cancelled_date f_confirmed f_assigned f_saved_location ' +
        'f_saved_location_group f_city f_state f_postal_code f_country f_flags f_assignment f_confirmation f_financing ' +
        'f_location_radius f_remote_work f_search acting_user_id access_token'
      ).split(' '),
    );
    const recorded = () => {
      const urls: URL[] = [];
      const fn = client({ fetch: (input, init) => (init?.method === 'GET' && urls.push(new URL(String(input))), fetch(input, init)) });
      return { fn, lists: () => urls.filter((u) => u.pathname === '/api/rest/v2/workorders') };
    };

    it('finds it by incident id with documented filters only (no f_search), matching on the returned objects', async () => {
      const { fn, lists } = recorded();
      const createdSince = new Date();
      const made = await fn.createWorkOrder(workOrder('500L1', { incident_id: 'INC-L1' }));
      const result = await fn.findRecentWorkOrders({ key: { incidentId: 'INC-L1' }, createdSince });
      expect(result).toMatchObject({ complete: true, found: [expect.objectContaining({ id: made.id })] });
      expect(lists().length).toBeGreaterThan(0);
      for (const url of lists()) {
        expect([...url.searchParams.keys()].filter((k) => !DOCUMENTED.has(k))).toEqual([]);
        expect(url.searchParams.has('f_search')).toBe(false);
        expect(url.searchParams.get('f_created')).toMatch(/^\d{4}-\d{2}-\d{2},\d{4}-\d{2}-\d{2}$/);
        expect(Object.fromEntries(url.searchParams)).toMatchObject({ sort: 'id', order: 'desc', per_page: '100', sticky: 'false' });
      }
      // The keyword search Field Nation documents does not cover incident ids (the old lookup's blind spot).
      const bySearch = (await (
        await fetch(`${sim.restUrl}/workorders?f_search=INC-L1&access_token=${lists()[0]!.searchParams.get('access_token')}`)
      ).json()) as { results: unknown[] };
      expect(bySearch.results).toEqual([]);
    });

    it('reads newest first, stops at the first page reaching older work orders, and says when its page budget ran out', async () => {
      const fn = client();
      const createdSince = new Date(Date.now() - 1_000);
      const target = await fn.createWorkOrder(workOrder('500P1', { incident_id: '500P1' }));
      for (let i = 0; i < 150; i++) await fn.createWorkOrder(workOrder(`500Q${i}`));
      const key = { incidentId: '500P1' };
      // 151 work orders since the create: two pages of 100 hold them, one does not.
      expect(await fn.findRecentWorkOrders({ key, createdSince, clockSkewMs: 0, maxPages: 1 })).toMatchObject({
        found: [],
        complete: false,
        pagesRead: 1,
      });
      expect(await fn.findRecentWorkOrders({ key, createdSince, clockSkewMs: 0, maxPages: 2 })).toMatchObject({
        found: [expect.objectContaining({ id: target.id })],
        complete: true,
        pagesRead: 2,
      });
      // Created after all of them: the first page already reaches older work orders, so one page is enough.
      await new Promise((r) => setTimeout(r, 2_100));
      const lateSince = new Date();
      const late = await fn.createWorkOrder(workOrder('500P2', { incident_id: '500P2' }));
      expect(await fn.findRecentWorkOrders({ key: { incidentId: '500P2' }, createdSince: lateSince, clockSkewMs: 0 })).toMatchObject({
        found: [expect.objectContaining({ id: late.id })],
        complete: true,
        pagesRead: 1,
      });
      expect(await fn.findRecentWorkOrders({ key: { incidentId: 'nobody' }, createdSince: lateSince, clockSkewMs: 0 })).toMatchObject({
        found: [],
        complete: true,
        pagesRead: 1,
      });
    });
  });

  describe('broker operations', () => {
    it('creates, finds by custom field or incident id, updates, publishes, routes and cancels', async () => {
      const events: RequestEvent[] = [];
      const fn = client({ onRequest: (e) => events.push(e) });
      const a = await fn.createWorkOrder(workOrder('500A1', { incident_id: 'INC-1' }));
      await fn.createWorkOrder(workOrder('500A10', { incident_id: 'INC-10' }));
      expect(a.status).toMatchObject({ id: 1, name: 'Draft' });
      expect(customFieldValue(a, 606)).toBe('500A1');

      const createdSince = new Date(Date.now() - 60_000);
      const byField = await fn.findRecentWorkOrders({ key: { customField: { id: 606, value: '500A1' } }, createdSince });
      expect(byField).toMatchObject({ complete: true, pagesRead: 1 });
      expect(byField.found.map((w) => w.id)).toEqual([a.id]);
      expect((await fn.findRecentWorkOrders({ key: { incidentId: 'INC-1' }, createdSince })).found.map((w) => w.id)).toEqual([a.id]);
      expect((await fn.findRecentWorkOrders({ key: { customField: { id: 606, value: 'nope' } }, createdSince })).found).toEqual([]);

      expect((await fn.updateWorkOrder(a.id, { title: 'Renamed' })).title).toBe('Renamed');
      expect((await fn.publishWorkOrder(a.id)).status.id).toBe(2);
      await fn.routeWorkOrder(a.id, { providerId: 557 });
      expect((await fn.getWorkOrder(a.id)).status.id).toBe(9);
      await fn.routeWorkOrder(a.id, { providerIds: [559] });
      expect(sim.getWorkOrder(a.id)?.routes).toMatchObject({ metadata: { total: 2 } });
      expect((await fn.cancelWorkOrder(a.id, { reason: 58 })).status).toMatchObject({ id: 7, name: 'Cancelled' });

      const illegal = (await fn.publishWorkOrder(a.id).catch((e: unknown) => e)) as FieldNationError;
      expect(illegal).toMatchObject({ kind: 'bad_request', status: 400, retryable: false });
      expect(events[0]).toMatchObject({ method: 'POST', route: 'POST /authentication/api/oauth/token', status: 200 });
      expect(events.some((e) => e.route === 'POST /workorders/:id/publish')).toBe(true);
    });

    it('posts messages and returns their id', async () => {
      const fn = client();
      const { id } = await fn.createWorkOrder(workOrder('500M'));
      sim.buyer.postMessage(id, 'Same text');
      const first = await fn.postMessage(id, { message: 'Same text' });
      const second = await fn.postMessage(id, { message: 'Another' });
      const reply = await fn.postMessage(id, { message: 'A reply', parentId: first });
      const messages = await fn.listMessages(id);
      expect(messages.map((m) => m.message)).toEqual(['Another', 'Same text', 'Same text']);
      const mine = messages.find((m) => m.msg_id === first)!;
      expect(mine.from.id).toBe(1068);
      expect(mine.replies?.[0]?.msg_id).toBe(reply);
      expect(messages[0]!.msg_id).toBe(second);
    });

    it('sends the message type that decides who sees it (ASSIGNEDTECH reaches the assigned technician, INTERNAL does not)', async () => {
      const fn = client();
      const { id } = await fn.createWorkOrder(workOrder('500V'));
      sim.buyer.publish(id);
      sim.buyer.assign(id, 557);
      const toTech = await fn.postMessage(id, { message: 'Bring a ladder', type: 'ASSIGNEDTECH' });
      const internal = await fn.postMessage(id, { message: 'Customer is difficult', type: 'INTERNAL' });
      const messages = await fn.listMessages(id);
      expect(messages.find((m) => m.msg_id === toTech)).toMatchObject({ type: 'ASSIGNEDTECH', to: { id: 557 } });
      expect(messages.find((m) => m.msg_id === internal)).toMatchObject({ type: 'INTERNAL' });
      expect(messages.find((m) => m.msg_id === internal)!.to).toBeUndefined();
      // A type outside rest-v2.yaml's enum is refused by the contract check (400), not passed through.
      await expect(fn.postMessage(id, { message: 'x', type: 'EVERYONE' as never })).rejects.toMatchObject({ status: 400 });
      expect(sim.takeContractViolations().map((v) => v.path)).toEqual([`/api/rest/v2/workorders/${id}/messages`]);
    });

    it('manages webhooks and receives verifiable deliveries', async () => {
      const listener: Listener = await startListener();
      try {
        const fn = client();
        const hook = await fn.createWebhook({
          url: `${listener.url}/fn`,
          events: ['workorder.created'],
          secret: '3f0c1d2e-4b5a-4c6d-8e9f-0a1b2c3d4e5f',
        });
        expect(hook).toMatchObject({ url: `${listener.url}/fn`, status: 'active', method: 'post' });
        expect((await fn.listWebhooks()).map((h) => h.webhookId)).toEqual([hook.webhookId]);
        await fn.createWorkOrder(workOrder('500W'));
        await sim.waitForDeliveries();
        const [delivery] = listener.requests;
        const signedWith = (secret: string) =>
          verifyWebhookSignature({ rawBody: Buffer.from(delivery!.body), signatureHeader: delivery!.headers['x-fn-signature'], secret });
        expect(signedWith('3f0c1d2e-4b5a-4c6d-8e9f-0a1b2c3d4e5f')).toBe(true);
        expect(signedWith('wrong-secret')).toBe(false);
        expect((await fn.deleteWebhook(hook.webhookId)).webhookId).toBe(hook.webhookId);
        expect(await fn.listWebhooks()).toEqual([]);
      } finally {
        await listener.close();
      }
    });
  });
});
