import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSalesforceSim, type SalesforceSim } from '../src/index';
import { CLIENT_ID, CLIENT_SECRET, PASSWORD, TOKEN, USERNAME, VERSION } from './helpers';

/**
 * What jsforce hides or cannot send: exact bodies, status codes and headers of the raw HTTP answers,
 * and malformed requests a client library would never build. Plain fetch only.
 */
describe('wire protocol (raw HTTP)', () => {
  let sim: SalesforceSim;
  let token: string;
  let data: string;

  const auth = () => ({ Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' });
  const usage = (res: Response) => res.headers.get('sforce-limit-info');

  beforeAll(async () => {
    sim = await startSalesforceSim({ port: 0, queryPageSize: 200 });
    data = `${sim.url}/services/data/v${VERSION}`;
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(async () => {
    await sim.reset();
    const res = await fetch(`${sim.url}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'password',
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        username: USERNAME,
        password: PASSWORD + TOKEN,
      }),
    });
    expect(res.status).toBe(200);
    token = ((await res.json()) as { access_token: string }).access_token;
  });

  it('puts Sforce-Limit-Info on every /services/data answer, counted or not, whatever the status', async () => {
    sim.setApiUsage({ used: 40, max: 50 });
    const seen: [string, number, string | null][] = [];
    const call = async (label: string, url: string, init: RequestInit = {}) => {
      const res = await fetch(url, init);
      seen.push([label, res.status, usage(res)]);
      await res.arrayBuffer();
    };
    // Not counted: no session, unknown version, bad JSON (parsed before authentication).
    await call('versions', `${sim.url}/services/data`);
    await call('unknown version', `${sim.url}/services/data/v10.0/limits`, { headers: auth() });
    await call('no token', `${data}/limits`);
    await call('bad token', `${data}/limits`, { headers: { Authorization: 'Bearer nope' } });
    await call('bad JSON, no token', `${data}/sobjects/Case`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{nope',
    });
    await call('bad JSON', `${data}/sobjects/Case`, { method: 'POST', headers: auth(), body: '{nope' });
    // Counted, one each.
    await call('query', `${data}/query?q=${encodeURIComponent('SELECT Id FROM Case')}`, { headers: auth() });
    await call('create', `${data}/sobjects/Case`, { method: 'POST', headers: auth(), body: JSON.stringify({ Subject: 'limit info' }) });
    await call('update', `${data}/sobjects/Case/${sim.ref('case_install')}`, {
      method: 'PATCH',
      headers: auth(),
      body: JSON.stringify({ Subject: 'x' }),
    });
    await call('bad SOQL', `${data}/query?q=${encodeURIComponent('SELECT FROM')}`, { headers: auth() });
    await call('missing record', `${data}/sobjects/Case/500000000000999AAA`, { headers: auth() });
    await call('wrong method', `${data}/sobjects/Case/${sim.ref('case_install')}`, { method: 'PUT', headers: auth(), body: '{}' });
    sim.injectFault({ kind: 'HTTP_5XX', path: '/limits' });
    await call('injected 503', `${data}/limits`, { headers: auth() });
    sim.setApiUsage({ used: 50 });
    await call('allowance used up', `${data}/limits`, { headers: auth() });
    await call('no token, allowance used up', `${data}/limits`);

    expect(seen).toEqual([
      ['versions', 200, 'api-usage=40/50'],
      ['unknown version', 404, 'api-usage=40/50'],
      ['no token', 401, 'api-usage=40/50'],
      ['bad token', 401, 'api-usage=40/50'],
      ['bad JSON, no token', 400, 'api-usage=40/50'],
      ['bad JSON', 400, 'api-usage=40/50'],
      ['query', 200, 'api-usage=41/50'],
      ['create', 201, 'api-usage=42/50'],
      ['update', 204, 'api-usage=43/50'],
      ['bad SOQL', 400, 'api-usage=44/50'],
      ['missing record', 404, 'api-usage=45/50'],
      ['wrong method', 405, 'api-usage=46/50'],
      ['injected 503', 503, 'api-usage=47/50'],
      ['allowance used up', 403, 'api-usage=50/50'],
      ['no token, allowance used up', 401, 'api-usage=50/50'],
    ]);
  });

  it('answers an invalid session with HTTP 401 and exactly Salesforce’s body', async () => {
    const res = await fetch(`${data}/limits`, { headers: { Authorization: 'Bearer 00D000000000001!expired' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/json;charset=UTF-8');
    expect(await res.json()).toEqual([{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
  });

  it('answers a failed SOAP login with HTTP 500 and an sf:INVALID_LOGIN fault', async () => {
    const res = await fetch(`${sim.url}/services/Soap/u/${VERSION}`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/xml', SOAPAction: '""' },
      body: '<se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/"><se:Body><login xmlns="urn:partner.soap.sforce.com"><username>x</username><password>y</password></login></se:Body></se:Envelope>',
    });
    expect(res.status).toBe(500);
    const xml = await res.text();
    expect(xml).toContain('<faultcode>sf:INVALID_LOGIN</faultcode>');
    expect(xml).toContain('<faultstring>INVALID_LOGIN: Invalid username, password, security token; or user locked out.</faultstring>');
  });

  it('sends nextRecordsUrl in its relative form', async () => {
    for (let i = 0; i < 250; i++) sim.createRecord('Site_Visit__c', { Name: `SV-W${i}` });
    const res = await fetch(`${data}/query?q=${encodeURIComponent('SELECT Id FROM Site_Visit__c')}`, { headers: auth() });
    const body = (await res.json()) as { totalSize: number; done: boolean; nextRecordsUrl: string };
    expect(body).toMatchObject({ totalSize: 251, done: false });
    expect(body.nextRecordsUrl).toMatch(/^\/services\/data\/v62\.0\/query\/01g[A-Za-z0-9]+-200$/);
    const next = await fetch(`${sim.url}${body.nextRecordsUrl}`, { headers: auth() });
    expect(((await next.json()) as { done: boolean }).done).toBe(true);
  });

  it('answers bad SOQL, unknown paths, wrong methods and bad JSON with the error array', async () => {
    const expectError = async (res: Response, status: number, errorCode: string) => {
      expect(res.status, `${res.url} → ${errorCode}`).toBe(status);
      const body = (await res.json()) as { errorCode: string; message: string }[];
      expect(body).toEqual([expect.objectContaining({ errorCode, message: expect.any(String) })]);
    };
    await expectError(await fetch(`${data}/query?q=${encodeURIComponent('SELECT FROM')}`, { headers: auth() }), 400, 'MALFORMED_QUERY');
    await expectError(await fetch(`${data}/sobjects/Case`, { method: 'POST', headers: auth(), body: '{nope' }), 400, 'JSON_PARSER_ERROR');
    await expectError(await fetch(`${data}/nothing/here`, { headers: auth() }), 404, 'NOT_FOUND');
    await expectError(await fetch(`${sim.url}/services/data/v10.0/limits`, { headers: auth() }), 404, 'NOT_FOUND');
    await expectError(
      await fetch(`${data}/sobjects/Case/${sim.ref('case_install')}`, { method: 'PUT', headers: auth(), body: '{}' }),
      405,
      'METHOD_NOT_ALLOWED',
    );
    const versions = (await (await fetch(`${sim.url}/services/data`)).json()) as { version: string; url: string }[];
    expect(versions).toContainEqual({ label: 'v62.0', url: '/services/data/v62.0', version: '62.0' });
  });

  it('never crashes on malformed requests: each gets the Salesforce error, not UNKNOWN_EXCEPTION', async () => {
    const install = sim.ref('case_install');
    const cases: { name: string; method: string; path: string; body?: unknown; status: number; errorCode: string }[] = [
      { name: 'broken escape as a GET id', method: 'GET', path: '/sobjects/Case/%E0%A4%A', status: 404, errorCode: 'NOT_FOUND' },
      {
        name: 'broken escape as a PATCH id',
        method: 'PATCH',
        path: '/sobjects/Case/%E0%A4%A',
        body: { Subject: 'x' },
        status: 400,
        errorCode: 'MALFORMED_ID',
      },
      { name: 'broken escape as a DELETE id', method: 'DELETE', path: '/sobjects/Case/%E0%A4%A', status: 400, errorCode: 'MALFORMED_ID' },
      { name: 'broken escape as an object name', method: 'GET', path: '/sobjects/%E0%A4%A/describe', status: 404, errorCode: 'NOT_FOUND' },
      { name: 'broken escape as a query locator', method: 'GET', path: '/query/%E0%A4%A', status: 400, errorCode: 'INVALID_QUERY_LOCATOR' },
      {
        name: 'null record in a collection create',
        method: 'POST',
        path: '/composite/sobjects',
        body: { records: [null] },
        status: 400,
        errorCode: 'JSON_PARSER_ERROR',
      },
      {
        name: 'scalar records in a collection create',
        method: 'POST',
        path: '/composite/sobjects',
        body: { records: [{ attributes: { type: 'Case' } }, 7] },
        status: 400,
        errorCode: 'JSON_PARSER_ERROR',
      },
      {
        name: 'null record in a collection update',
        method: 'PATCH',
        path: '/composite/sobjects',
        body: { records: [null] },
        status: 400,
        errorCode: 'JSON_PARSER_ERROR',
      },
      {
        name: 'array record in a collection update',
        method: 'PATCH',
        path: '/composite/sobjects',
        body: { records: [[install]] },
        status: 400,
        errorCode: 'JSON_PARSER_ERROR',
      },
      {
        name: 'array body for a record',
        method: 'POST',
        path: '/sobjects/Case',
        body: [{ Subject: 'x' }],
        status: 400,
        errorCode: 'JSON_PARSER_ERROR',
      },
      {
        name: 'object in a string field',
        method: 'POST',
        path: '/sobjects/Case',
        body: { Subject: { text: 'x' } },
        status: 400,
        errorCode: 'JSON_PARSER_ERROR',
      },
      {
        name: 'null subrequest in composite',
        method: 'POST',
        path: '/composite',
        body: { compositeRequest: [null] },
        status: 400,
        errorCode: 'JSON_PARSER_ERROR',
      },
    ];
    for (const c of cases) {
      const res = await fetch(`${data}${c.path}`, {
        method: c.method,
        headers: auth(),
        body: c.body === undefined ? undefined : JSON.stringify(c.body),
      });
      const body = (await res.json()) as { errorCode: string }[];
      expect([res.status, body[0]?.errorCode], c.name).toEqual([c.status, c.errorCode]);
    }
    // Nothing was written by the refused collection requests.
    expect(sim.getRecord(install)!.Subject).toBe('Install 3 POS terminals at the Addison St store');

    // Inside a composite request an unparsable URL fails only its own subrequest.
    const res = await fetch(`${data}/composite`, {
      method: 'POST',
      headers: auth(),
      body: JSON.stringify({
        compositeRequest: [
          { method: 'GET', url: 'http://[broken', referenceId: 'bad' },
          { method: 'GET', url: `/services/data/v${VERSION}/limits`, referenceId: 'ok' },
        ],
      }),
    });
    expect(res.status).toBe(200);
    const composite = (await res.json()) as { compositeResponse: { httpStatusCode: number; body: { errorCode?: string }[] }[] };
    expect(composite.compositeResponse.map((r) => r.httpStatusCode)).toEqual([400, 200]);
    expect(composite.compositeResponse[0]!.body[0]!.errorCode).toBe('INVALID_URL');
  });
});
