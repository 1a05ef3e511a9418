import { beforeEach, describe, expect, it } from 'vitest';
import { parseOutboundMessage } from '@broker/salesforce';
import { CLIENT_ID, CLIENT_SECRET, ORG_ID, PASSWORD, TOKEN, USERNAME, VERSION, ACK, simWithListener } from './helpers';

const HOUR = 3_600_000;

type Json = any;

/** The `/__sim` control API over HTTP, as the demo and tests in other languages use it. */
describe('control API over HTTP', () => {
  const env = simWithListener({ outboundToListener: true });

  const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> => {
    const res = await fetch(`${env.sim.url}/__sim${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };
  const tokenGrant = async (params: Record<string, string>): Promise<{ status: number; body: Json }> => {
    const res = await fetch(`${env.sim.url}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, ...params }),
    });
    return { status: res.status, body: await res.json() };
  };
  const login = async (): Promise<string> =>
    (await tokenGrant({ grant_type: 'password', username: USERNAME, password: PASSWORD + TOKEN })).body.access_token as string;
  const rest = (token: string, path: string, init: RequestInit = {}) =>
    fetch(`${env.sim.url}/services/data/v${VERSION}${path}`, {
      ...init,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    });

  beforeEach(async () => {
    expect((await api('POST', '/reset')).body).toEqual({ ok: true });
  });

  it('health and org describe the running simulator', async () => {
    expect(await api('GET', '/health')).toEqual({ status: 200, body: { ok: true, url: env.sim.url } });
    const org = (await api('GET', '/org')).body;
    expect(org.organizationId).toBe(ORG_ID);
    expect(org.refs.case_install).toBe('500000000000001AAA');
    expect(org.objects).toContainEqual({ name: 'Site_Visit__c', keyPrefix: 'a0X' });
    expect(org.users).toContainEqual({ username: USERNAME, id: '005000000000001AAA' });
    expect(org.outboundMessages.map((o: Json) => o.name)).toEqual(['Field_Nation_Case_Dispatch', 'Field_Nation_Case_Comment']);
    expect(org.flows.map((f: Json) => f.name)).toEqual(['Send_Case_to_Field_Nation', 'Send_Case_Comment_to_Field_Nation']);
  });

  it('creates, reads, updates, deletes and queries records as a named user, without counting API calls', async () => {
    const created = await api('POST', '/records/Case', {
      as: 'dispatcher@example.com',
      fields: { Subject: 'from the control API', Priority: 'High' },
    });
    expect(created.status).toBe(200);
    const id = created.body.id as string;
    expect(id).toMatch(/^500[A-Za-z0-9]{15}$/);
    const read = (await api('GET', `/records/Case/${id}`)).body;
    expect(read).toMatchObject({ Subject: 'from the control API', Priority: 'High', Status: 'New', CreatedById: '005000000000002AAA' });

    expect((await api('PATCH', `/records/Case/${id}`, { as: USERNAME, fields: { Status: 'Working' } })).body).toEqual({ ok: true });
    expect((await api('GET', `/records/Case/${id}`)).body).toMatchObject({ Status: 'Working', LastModifiedById: '005000000000001AAA' });
    const queried = (await api('POST', '/query', { soql: `SELECT Subject, Owner.Name FROM Case WHERE Id = '${id}'` })).body;
    expect(queried.totalSize).toBe(1);
    expect(queried.records[0].Owner.Name).toBe('Dana Dispatcher');

    expect((await api('DELETE', `/records/Case/${id}?as=dispatcher@example.com`)).body).toEqual({ ok: true });
    expect((await api('GET', '/records/Case')).body.records.some((r: Json) => r.Id === id)).toBe(false);
    const withDeleted = (await api('GET', '/records/Case?includeDeleted=true')).body.records.find((r: Json) => r.Id === id);
    expect(withDeleted.IsDeleted).toBe(true);
    expect((await api('POST', '/query', { soql: `SELECT Id FROM Case WHERE Id = '${id}'`, includeDeleted: true })).body.totalSize).toBe(1);

    // Salesforce's validation applies; the control API reports it as {error, errorCode, fields}.
    const invalid = await api('PATCH', `/records/Case/${env.sim.ref('case_install')}`, { fields: { Status: 'Lost' } });
    expect(invalid.status).toBe(400);
    expect(invalid.body).toMatchObject({ errorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', fields: ['Status'] });
    expect((await api('POST', '/records/Nope__c', { fields: {} })).body.errorCode).toBe('NOT_FOUND');
    expect((await api('GET', '/records/Case/500000000000999AAA')).status).toBe(404);
    expect((await api('POST', '/records/Case', { as: 'nobody@example.com', fields: {} })).body.errorCode).toBe('INVALID_INPUT');
    expect((await api('POST', '/query', { soql: 'SELECT FROM' })).body.errorCode).toBe('MALFORMED_QUERY');
    expect((await api('GET', '/counters')).body.apiCalls.total).toBe(0);
  });

  it('sessions/expire ends one token, one user’s sessions or all of them', async () => {
    const [a, b, c] = [await login(), await login(), await login()];
    expect((await api('POST', '/sessions/expire', { token: a })).body).toEqual({ expired: 1 });
    const expired = await rest(a, '/limits');
    expect(expired.status).toBe(401);
    expect(((await expired.json()) as Json)[0].errorCode).toBe('INVALID_SESSION_ID');
    expect((await rest(b, '/limits')).status).toBe(200);
    expect((await api('POST', '/sessions/expire', { username: 'dispatcher@example.com' })).body).toEqual({ expired: 0 });
    expect((await api('POST', '/sessions/expire', { username: USERNAME })).body).toEqual({ expired: 2 });
    expect((await rest(c, '/limits')).status).toBe(401);
    // A fresh login works at once.
    expect((await rest(await login(), '/limits')).status).toBe(200);
    expect((await api('POST', '/sessions/expire', {})).body).toEqual({ expired: 1 });
  });

  it('oauth/refresh-tokens issues a token the refresh_token grant accepts', async () => {
    const issued = await api('POST', '/oauth/refresh-tokens', { username: 'dispatcher@example.com' });
    expect(issued.body.refresh_token).toMatch(/^5Aep/);
    const granted = await tokenGrant({ grant_type: 'refresh_token', refresh_token: issued.body.refresh_token });
    expect(granted.status).toBe(200);
    expect(granted.body.id).toBe(`${env.sim.url}/id/${ORG_ID}/005000000000002AAA`);
    expect((await rest(granted.body.access_token, '/limits')).status).toBe(200);
    const otherApp = await api('POST', '/oauth/refresh-tokens', { username: USERNAME, clientId: 'another-app' });
    expect((await tokenGrant({ grant_type: 'refresh_token', refresh_token: otherApp.body.refresh_token })).body.error).toBe(
      'invalid_grant',
    );
    expect((await api('POST', '/oauth/refresh-tokens', { username: 'nobody@example.com' })).status).toBe(400);
  });

  it('limits and counters: usage, allowance, calls per endpoint and logins', async () => {
    expect((await api('GET', '/limits')).body).toEqual({ used: 0, max: 15000 });
    expect((await api('PUT', '/limits', { used: 8, max: 10 })).body).toEqual({ used: 8, max: 10 });
    const token = await login();
    const ok = await rest(token, '/limits');
    expect(ok.headers.get('sforce-limit-info')).toBe('api-usage=9/10');
    expect(((await ok.json()) as Json).DailyApiRequests).toEqual({ Max: 10, Remaining: 1 });
    await rest(token, `/sobjects/Case/${env.sim.ref('case_install')}`);
    const refused = await rest(token, '/limits');
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as Json)[0].errorCode).toBe('REQUEST_LIMIT_EXCEEDED');
    expect((await api('GET', '/limits')).body).toEqual({ used: 10, max: 10 });
    await tokenGrant({ grant_type: 'password', username: USERNAME, password: 'wrong' });

    const counters = (await api('GET', '/counters')).body;
    expect(counters).toEqual({
      apiCalls: { total: 2, byEndpoint: { 'GET /limits': 1, 'GET /sobjects/Case/{id}': 1 } },
      logins: { total: 1, failed: 1, byFlow: { password: 1 } },
      apiUsage: { used: 10, max: 10 },
    });
    const reset = (await api('POST', '/counters/reset')).body;
    expect(reset).toEqual({
      apiCalls: { total: 0, byEndpoint: {} },
      logins: { total: 0, failed: 0, byFlow: {} },
      apiUsage: { used: 10, max: 10 },
    });
  });

  it('faults: inject, list, apply to REST and OAuth calls, clear', async () => {
    const token = await login();
    const lock = await api('POST', '/faults', { kind: 'UNABLE_TO_LOCK_ROW', method: 'PATCH', path: '/sobjects/Case/', count: 1 });
    expect(lock.body).toMatchObject({ kind: 'UNABLE_TO_LOCK_ROW', count: 1, applied: 0, id: expect.any(String) });
    const patch = () =>
      rest(token, `/sobjects/Case/${env.sim.ref('case_install')}`, { method: 'PATCH', body: JSON.stringify({ Subject: 'x' }) });
    const locked = await patch();
    expect(locked.status).toBe(400);
    expect(((await locked.json()) as Json)[0].errorCode).toBe('UNABLE_TO_LOCK_ROW');
    expect((await patch()).status).toBe(204);

    const down = await api('POST', '/faults', { kind: 'HTTP_5XX', path: '/limits$', count: 0 });
    expect((await rest(token, '/limits')).status).toBe(503);
    expect((await rest(token, '/limits')).status).toBe(503);
    const listed = (await api('GET', '/faults')).body.faults as Json[];
    expect(listed.map((f) => [f.kind, f.applied])).toEqual([
      ['UNABLE_TO_LOCK_ROW', 1],
      ['HTTP_5XX', 2],
    ]);
    expect((await api('DELETE', `/faults/${down.body.id}`)).body).toEqual({ ok: true });
    expect((await rest(token, '/limits')).status).toBe(200);

    await api('POST', '/faults', {
      kind: 'ERROR',
      path: '^/services/oauth2/token$',
      status: 400,
      errorCode: 'invalid_grant',
      message: 'injected',
    });
    expect((await tokenGrant({ grant_type: 'password', username: USERNAME, password: PASSWORD + TOKEN })).status).toBe(400);
    expect((await api('DELETE', '/faults')).body).toEqual({ ok: true });
    expect((await api('GET', '/faults')).body).toEqual({ faults: [] });
    expect((await api('POST', '/faults', { kind: 'EARTHQUAKE' })).status).toBe(400);
  });

  it('outbound-messages and flows: define, list and remove over HTTP', async () => {
    const om = await api('POST', '/outbound-messages', {
      name: 'Escalations',
      object: 'Case',
      fields: ['Subject', 'Status'],
      endpointUrl: `${env.listener.url}/escalations`,
    });
    expect(om.body).toMatchObject({
      name: 'Escalations',
      object: 'Case',
      fields: ['Subject', 'Status'],
      id: expect.stringMatching(/^04k/),
    });
    const flow = await api('POST', '/flows', {
      name: 'Escalated_Cases',
      object: 'Case',
      trigger: 'update',
      condition: { field: 'Status', changedTo: 'Escalated' },
      outboundMessage: 'Escalations',
    });
    expect(flow.body).toMatchObject({ name: 'Escalated_Cases', active: true });
    expect((await api('GET', '/outbound-messages')).body.outboundMessages.map((o: Json) => o.name)).toContain('Escalations');
    expect((await api('GET', '/flows')).body.flows.map((f: Json) => f.name)).toContain('Escalated_Cases');

    await api('PATCH', `/records/Case/${env.sim.ref('case_repair')}`, { fields: { Status: 'Escalated' } });
    const [req] = await env.listener.waitFor(1);
    expect(req!.url).toBe('/escalations');
    expect(parseOutboundMessage(req!.body).notifications[0]!.fields.Status).toBe('Escalated');

    const bad = await api('POST', '/flows', {
      name: 'Broken',
      object: 'Case',
      trigger: 'update',
      condition: { field: 'Nope__c', changed: true },
      outboundMessage: 'Escalations',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errorCode).toBe('INVALID_INPUT');
    expect((await api('DELETE', '/flows/Escalated_Cases')).body).toEqual({ removed: true });
    await api('PATCH', `/records/Case/${env.sim.ref('case_maint')}`, { fields: { Status: 'Escalated' } });
    await api('POST', '/outbound/flush');
    expect(env.listener.requests).toHaveLength(1);
    expect((await api('DELETE', '/outbound-messages/Escalations')).body).toEqual({ removed: true });
    expect((await api('DELETE', '/outbound-messages/Escalations')).body).toEqual({ removed: false });
  });

  it('outbound queue and clock: list, deliveries, flush, drop, advance', async () => {
    env.listener.respond = () => ({ status: 500, body: 'down' });
    const created = await api('POST', '/records/Case', {
      as: 'dispatcher@example.com',
      fields: { Subject: 'via control', Send_to_Field_Nation__c: true },
    });
    await env.listener.waitFor(1);
    expect((await api('POST', '/outbound/flush')).body).toEqual({ pending: 1 });
    expect(env.listener.requests).toHaveLength(2);
    const pending = (await api('GET', '/outbound?status=pending&outboundMessage=Field_Nation_Case_Dispatch')).body.notifications as Json[];
    expect(pending).toHaveLength(1);
    expect(pending[0]).toMatchObject({ recordId: created.body.id, flow: 'Send_Case_to_Field_Nation', status: 'pending' });
    expect(pending[0].attempts.map((a: Json) => a.httpStatus)).toEqual([500, 500]);
    const deliveries = (await api('GET', '/outbound/deliveries')).body.deliveries as Json[];
    expect(deliveries.map((d) => [d.ok, d.httpStatus, d.notificationIds])).toEqual([
      [false, 500, [pending[0].id]],
      [false, 500, [pending[0].id]],
    ]);

    // The clock runs the retry that became due.
    env.listener.respond = () => ({ status: 200, body: ACK, headers: { 'Content-Type': 'text/xml' } });
    const before = (await api('GET', '/clock')).body;
    expect(before).toMatchObject({ timeFactor: 1, epochMs: expect.any(Number) });
    const advanced = (await api('POST', '/clock/advance', { seconds: 2 })).body;
    expect(advanced.epochMs - before.epochMs).toBeGreaterThanOrEqual(2000);
    expect(new Date(advanced.now).getTime()).toBe(advanced.epochMs);
    expect(env.listener.requests).toHaveLength(3);
    expect((await api('GET', '/outbound?status=delivered')).body.notifications.map((n: Json) => n.id)).toEqual([pending[0].id]);

    env.listener.respond = () => ({ status: 500, body: 'down' });
    await api('POST', '/records/Case', { as: 'dispatcher@example.com', fields: { Subject: 'to drop', Send_to_Field_Nation__c: true } });
    await env.listener.waitFor(4);
    const [toDrop] = (await api('GET', '/outbound?status=pending')).body.notifications as Json[];
    expect((await api('POST', '/outbound/drop', { ids: [toDrop.id] })).body).toEqual({ dropped: 1 });
    await api('POST', '/clock/advance', { hours: 1 });
    expect(env.listener.requests).toHaveLength(4);
    expect((await api('GET', '/outbound?status=dropped')).body.notifications.map((n: Json) => n.dropReason)).toEqual(['manual']);
    expect((await api('POST', '/outbound/drop', {})).body).toEqual({ dropped: 0 });
    expect((await api('GET', '/clock')).body.epochMs - before.epochMs).toBeGreaterThanOrEqual(HOUR);
  });

  it('reset goes back to the org file', async () => {
    const created = (await api('POST', '/records/Contact', { fields: { LastName: 'Temporary' } })).body.id as string;
    await api('PUT', '/limits', { used: 99 });
    await api('POST', '/faults', { kind: 'LATENCY', latencyMs: 1 });
    await api('POST', '/reset');
    expect((await api('GET', `/records/Contact/${created}`)).status).toBe(404);
    expect((await api('GET', '/limits')).body.used).toBe(0);
    expect((await api('GET', '/faults')).body.faults).toEqual([]);
  });
});
