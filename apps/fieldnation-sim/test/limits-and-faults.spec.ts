import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FieldNationSim } from '../src/index';
import { getToken, restApi, startSim, json } from './sim-test-helpers';

describe('rate limits, faults and counters', () => {
  let sim: FieldNationSim;
  beforeAll(async () => {
    sim = await startSim({ rateLimit: { perMinute: 60, burst: 3 } });
  });
  beforeEach(() => sim.reset());
  afterAll(async () => sim?.close());
  /** Sets a fault through the control API, as a test tool outside this process would. */
  const postFault = (fault: Record<string, unknown>) =>
    fetch(`${sim.url}/__sim/faults`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(fault) });

  it('answers 429 with Retry-After once the token bucket is empty', async () => {
    const api = restApi(sim, await getToken(sim));
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await api('GET', '/types-of-work')).status);
    const limited = await api('GET', '/types-of-work');
    expect(statuses).toEqual([200, 200, 200]);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(limited.body).toEqual({ status: 429, message: expect.stringContaining('Rate limit exceeded'), errors: [] });
    // A new token for the same user does not reset the bucket.
    expect((await restApi(sim, await getToken(sim))('GET', '/types-of-work')).status).toBe(429);
    await new Promise((r) => setTimeout(r, 1050));
    expect((await api('GET', '/types-of-work')).status).toBe(200);
    expect(sim.counters()).toMatchObject({
      rateLimited: 2,
      routes: { 'GET /api/rest/v2/types-of-work': { calls: 6, byStatus: { 200: 4, 429: 2 } } },
    });
  });

  it('injects 5xx for N calls on a method + path regex, and counts calls per route', async () => {
    sim.setRateLimit(false);
    const api = restApi(sim, await getToken(sim));
    const fault = sim.injectFault({ method: 'POST', path: '^/api/rest/v2/workorders$', status: 503, count: 2, retryAfterSeconds: 2 });
    const first = await api('POST', '/workorders', { title: 'x' });
    expect(first.status).toBe(503);
    expect(first.headers.get('retry-after')).toBe('2');
    expect(first.body).toEqual({ status: 503, message: `injected fault ${fault.id}`, errors: [] });
    expect((await api('POST', '/workorders', { title: 'x' })).status).toBe(503);
    expect((await api('GET', '/workorders')).status).toBe(200);
    expect((await api('POST', '/workorders', { title: 'x' })).status).toBe(200);
    expect(sim.listFaults()).toEqual([]);
    expect(sim.counters().routes['POST /api/rest/v2/workorders']).toEqual({ calls: 3, byStatus: { 200: 1, 503: 2 } });
    expect(sim.counters().routes['GET /api/rest/v2/workorders']).toEqual({ calls: 1, byStatus: { 200: 1 } });
  });

  it('injects faults over a time window, latency and timeouts through the control API', async () => {
    sim.setRateLimit(false);
    const api = restApi(sim, await getToken(sim));
    const res = await postFault({ path: '/types-of-work', status: 500, durationMs: 150 });
    expect(res.status).toBe(200);
    expect((await api('GET', '/types-of-work')).status).toBe(500);
    await new Promise((r) => setTimeout(r, 200));
    expect((await api('GET', '/types-of-work')).status).toBe(200);

    sim.injectFault({ path: '/projects', latencyMs: 120, count: 1 });
    const started = Date.now();
    expect((await api('GET', '/projects')).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(110);

    sim.injectFault({ path: '/clients', timeout: true, count: 1 });
    const timedOut = await fetch(`${sim.restUrl}/clients`, { signal: AbortSignal.timeout(150) }).catch((err: Error) => err.name);
    expect(timedOut).toBe('TimeoutError');

    const bad = await postFault({ path: '(' });
    expect(bad.status).toBe(400);
    expect((await json(await fetch(`${sim.url}/__sim/counters`))).routes['GET /api/rest/v2/clients']).toEqual({
      calls: 1,
      byStatus: { 0: 1 },
    });
    await fetch(`${sim.url}/__sim/faults`, { method: 'DELETE' });
    expect(sim.listFaults()).toEqual([]);
  });

  it('commits a create after the client has given up (late commit), set through the control API', async () => {
    sim.setRateLimit(false);
    const api = restApi(sim, await getToken(sim));
    const res = await postFault({ method: 'POST', path: '^/api/rest/v2/workorders$', commitAfterMs: 400, hangMs: 100, count: 1 });
    expect(res.status).toBe(200);
    const started = Date.now();
    const failed = await api('POST', '/workorders', { title: 'Late one', incident_id: 'INC-LATE' }).catch((err: Error) => err);
    expect(failed).toBeInstanceOf(Error); // the socket was cut without an answer
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(sim.listWorkOrders().filter((w) => w.incident_id === 'INC-LATE')).toEqual([]); // not yet
    await new Promise((r) => setTimeout(r, 600));
    expect(sim.listWorkOrders().filter((w) => w.incident_id === 'INC-LATE')).toHaveLength(1); // now it exists
    // A client that gives up first (its own timeout) sees the same thing.
    sim.injectFault({ method: 'POST', path: '^/api/rest/v2/workorders$', commitAfterMs: 300, count: 1 });
    const url = new URL(`${sim.restUrl}/workorders`);
    url.searchParams.set('access_token', await getToken(sim));
    const timedOut = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: 'Later', incident_id: 'INC-LATER' }),
      signal: AbortSignal.timeout(150),
    }).catch((err: Error) => err.name);
    expect(timedOut).toBe('TimeoutError');
    expect(sim.listWorkOrders().filter((w) => w.incident_id === 'INC-LATER')).toEqual([]);
    await new Promise((r) => setTimeout(r, 600));
    expect(sim.listWorkOrders().filter((w) => w.incident_id === 'INC-LATER')).toHaveLength(1);
    expect(sim.listFaults()).toEqual([]);
  });

  it('changes the time factor and resets through the control API', async () => {
    const tf = await fetch(`${sim.url}/__sim/time-factor`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ factor: 50 }),
    });
    expect(await json(tf)).toEqual({ timeFactor: 50 });
    expect(sim.timeFactor).toBe(50);
    sim.setTimeFactor(1000);
    const api = restApi(sim, await getToken(sim));
    await api('POST', '/workorders', { title: 'x' });
    expect((await json(await fetch(`${sim.url}/__sim/workorders`))).results).toHaveLength(1);
    await fetch(`${sim.url}/__sim/reset`, { method: 'POST' });
    expect(sim.listWorkOrders()).toEqual([]);
    expect(sim.counters().total).toBe(0);
    expect((await api('GET', '/workorders')).status).toBe(401);
  });
});
