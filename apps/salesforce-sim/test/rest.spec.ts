import type { Connection } from 'jsforce';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSalesforceSim, type SalesforceSim } from '../src/index';
import { failure, soapConnection, VERSION } from './helpers';

type Row = Record<string, any>;

describe('REST API through jsforce', () => {
  let sim: SalesforceSim;
  let conn: Connection;

  beforeAll(async () => {
    sim = await startSalesforceSim({ port: 0 });
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(async () => {
    await sim.reset();
    conn = await soapConnection(sim);
  });

  it('creates, retrieves, updates and deletes, maintaining system fields for the acting user', async () => {
    const created = await conn.sobject('Case').create({ Subject: 'Printer jam', AccountId: sim.ref('acme'), Work_Type__c: 'Repair' });
    expect(created).toEqual({ id: expect.stringMatching(/^500[A-Za-z0-9]{15}$/), success: true, errors: [] });
    const rec = (await conn.sobject('Case').retrieve(created.id!)) as Row;
    expect(rec.attributes).toEqual({ type: 'Case', url: `/services/data/v${VERSION}/sobjects/Case/${created.id}` });
    expect(rec.Status).toBe('New');
    expect(rec.Priority).toBe('Medium');
    expect(rec.CaseNumber).toBe('00000006');
    expect(rec.Send_to_Field_Nation__c).toBe(false);
    expect(rec.CreatedById).toBe(sim.ref('integration'));
    expect(rec.OwnerId).toBe(sim.ref('integration'));
    expect(rec.IsDeleted).toBe(false);

    await sim.advanceClock(60_000);
    sim.updateRecord('Case', created.id!, { Status: 'Working' }, { as: 'dispatcher@example.com' });
    const afterHuman = sim.getRecord(created.id!)!;
    expect(afterHuman.LastModifiedById).toBe(sim.ref('dispatcher'));
    expect(Date.parse(String(afterHuman.LastModifiedDate))).toBeGreaterThan(Date.parse(String(rec.CreatedDate.replace('+0000', 'Z'))));
    expect(afterHuman.SystemModstamp).toBe(afterHuman.LastModifiedDate);

    const upd = await conn.sobject('Case').update({
      Id: created.id!.slice(0, 15),
      Field_Nation_Work_Order_Id__c: '12345',
      Technician_Arrived__c: '2026-03-01T15:30:00.000+0000',
    });
    expect(upd).toEqual({ id: created.id!.slice(0, 15), success: true, errors: [] });
    const partial = (await conn.request(
      `/sobjects/Case/${created.id}?fields=Field_Nation_Work_Order_Id__c,Technician_Arrived__c,LastModifiedById`,
    )) as Row;
    expect(partial).toEqual({
      attributes: { type: 'Case', url: `/services/data/v${VERSION}/sobjects/Case/${created.id}` },
      Field_Nation_Work_Order_Id__c: '12345',
      Technician_Arrived__c: '2026-03-01T15:30:00.000+0000',
      LastModifiedById: sim.ref('integration'),
      Id: created.id,
    });

    expect(await conn.sobject('Case').destroy(created.id!)).toEqual({ id: created.id, success: true, errors: [] });
    expect((await failure(conn.sobject('Case').retrieve(created.id!))).errorCode).toBe('ENTITY_IS_DELETED');
  });

  it('reports record errors with Salesforce error codes', async () => {
    const codes = async (p: PromiseLike<unknown>) => (await failure(p)).errorCode;
    const missing = sim.ref('case_install').replace('000001', '000999').slice(0, 15);
    expect(await codes(conn.sobject('Case').retrieve(missing))).toBe('NOT_FOUND');
    expect(await codes(conn.sobject('Case').retrieve('junk'))).toBe('NOT_FOUND');
    // jsforce puts the id in the path as given: a broken percent-escape is just another non-id.
    expect(await codes(conn.sobject('Case').retrieve('%E0%A4%A'))).toBe('NOT_FOUND');
    expect(await codes(conn.sobject('Case').update({ Id: '%E0%A4%A', Subject: 'x' }))).toBe('MALFORMED_ID');
    expect(await codes(conn.sobject('Case').update({ Id: 'junk', Subject: 'x' }))).toBe('MALFORMED_ID');
    expect(await codes(conn.sobject('Case').update({ Id: sim.ref('acme'), Subject: 'x' }))).toBe('MALFORMED_ID');
    expect(await codes(conn.sobject('Case').destroy('500000000000001AAB'))).toBe('MALFORMED_ID');
    expect(await codes(conn.sobject('Case').create({ Subject: 'x', AccountId: sim.ref('wile') }))).toBe('MALFORMED_ID');
    expect(await codes(conn.sobject('Case').create({ Subject: 'x', Bogus__c: 1 }))).toBe('INVALID_FIELD');
    expect(await codes(conn.sobject('Case').create({ CaseNumber: '1' }))).toBe('INVALID_FIELD_FOR_INSERT_UPDATE');
    expect(await codes(conn.sobject('Account').create({ Phone: '1' }))).toBe('REQUIRED_FIELD_MISSING');
    expect(await codes(conn.sobject('Case').create({ Status: 'Lost' }))).toBe('INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST');
    expect(await codes(conn.sobject('Case').create({ Work_Type__c: 'Demolition' }))).toBe('INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST');
    expect(await codes(conn.sobject('Case').create({ Send_to_Field_Nation__c: 'maybe' }))).toBe('JSON_PARSER_ERROR');
    expect(await codes(conn.sobject('Case').create({ Technician_Arrived__c: 'yesterday' }))).toBe('JSON_PARSER_ERROR');
    expect(await codes(conn.sobject('Nothing__c').create({ Name: 'x' }))).toBe('NOT_FOUND');
    const err = await failure(conn.sobject('Account').create({ Phone: '1' }));
    expect(err.message).toBe('Required fields are missing: [Name]');
    expect((err.data as { fields: string[] }).fields).toEqual(['Name']);
  });

  it('runs sObject collections with partial success and allOrNone', async () => {
    const created = await conn
      .sobject('Contact')
      .create([{ LastName: 'One', AccountId: sim.ref('acme') }, { FirstName: 'NoLast' }, { LastName: 'Three' }]);
    expect(created[0]!.success).toBe(true);
    expect(created[1]).toEqual({
      success: false,
      errors: [{ statusCode: 'REQUIRED_FIELD_MISSING', message: 'Required fields are missing: [LastName]', fields: ['LastName'] }],
    });
    expect(created[2]!.success).toBe(true);

    const before = sim.query('SELECT COUNT() FROM Contact').totalSize;
    const rolled = await conn.sobject('Contact').create([{ LastName: 'A' }, { LastName: 'B', Email: 'not-an-email' }], { allOrNone: true });
    expect(rolled[0]).toEqual({ success: false, errors: [expect.objectContaining({ statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK' })] });
    expect((rolled[1]!.errors[0] as unknown as { statusCode: string }).statusCode).toBe('INVALID_EMAIL_ADDRESS');
    expect(sim.query('SELECT COUNT() FROM Contact').totalSize).toBe(before);

    const ids = [created[0]!.id!, created[2]!.id!];
    const updated = await conn.sobject('Contact').update(ids.map((id) => ({ Id: id, Title: 'Updated' })));
    expect(updated.map((u) => u.success)).toEqual([true, true]);
    const fetched = (await conn.sobject('Contact').retrieve(ids, { fields: ['Title', 'LastName'] })) as Row[];
    expect(fetched.map((r) => r.Title)).toEqual(['Updated', 'Updated']);
    const viaGet = (await conn.request(`/composite/sobjects/Contact?ids=${ids.join(',')}&fields=LastName`)) as Row[];
    expect(viaGet.map((r) => r.LastName)).toEqual(['One', 'Three']);
    const deleted = await conn.sobject('Contact').destroy([...ids, 'junk']);
    expect(deleted.map((d) => d.success)).toEqual([true, true, false]);
    expect((deleted[2]!.errors[0] as unknown as { statusCode: string }).statusCode).toBe('MALFORMED_ID');
  });

  it('runs composite requests with @{ref} references and rolls back on allOrNone', async () => {
    const res = (await conn.requestPost(`/services/data/v${VERSION}/composite`, {
      allOrNone: false,
      compositeRequest: [
        { method: 'POST', url: `/services/data/v${VERSION}/sobjects/Account`, referenceId: 'acct', body: { Name: 'Composite Co' } },
        {
          method: 'POST',
          url: `/services/data/v${VERSION}/sobjects/Case`,
          referenceId: 'case',
          body: { Subject: 'Composite case', AccountId: '@{acct.id}' },
        },
        { method: 'GET', url: `/services/data/v${VERSION}/sobjects/Case/@{case.id}?fields=Subject,AccountId`, referenceId: 'read' },
        {
          method: 'GET',
          url: `/services/data/v${VERSION}/query?q=${encodeURIComponent("SELECT Id, Account.Name FROM Case WHERE Subject = 'Composite case'")}`,
          referenceId: 'q',
        },
        {
          method: 'PATCH',
          url: `/services/data/v${VERSION}/sobjects/Case/@{q.records[0].Id}`,
          referenceId: 'patch',
          body: { Status: 'Working' },
        },
      ],
    })) as { compositeResponse: { httpStatusCode: number; body: any; referenceId: string; httpHeaders: Record<string, string> }[] };
    const [acct, kase, read, q, patch] = res.compositeResponse;
    expect(acct!.httpStatusCode).toBe(201);
    expect(acct!.httpHeaders.Location).toBe(`/services/data/v${VERSION}/sobjects/Account/${acct!.body.id}`);
    expect(kase!.httpStatusCode).toBe(201);
    expect(read!.body.AccountId).toBe(acct!.body.id);
    expect(q!.body.records[0].Account.Name).toBe('Composite Co');
    expect(patch).toEqual({ body: null, httpHeaders: {}, httpStatusCode: 204, referenceId: 'patch' });

    const accounts = sim.query('SELECT COUNT() FROM Account').totalSize;
    const failed = (await conn.requestPost(`/services/data/v${VERSION}/composite`, {
      allOrNone: true,
      compositeRequest: [
        { method: 'POST', url: `/services/data/v${VERSION}/sobjects/Account`, referenceId: 'ok', body: { Name: 'Rolled back' } },
        {
          method: 'POST',
          url: `/services/data/v${VERSION}/sobjects/Case`,
          referenceId: 'bad',
          body: { Status: 'Nope', AccountId: '@{ok.id}' },
        },
        { method: 'GET', url: `/services/data/v${VERSION}/sobjects/Account/@{ok.id}`, referenceId: 'after' },
      ],
    })) as { compositeResponse: { httpStatusCode: number; body: any; referenceId: string }[] };
    expect(failed.compositeResponse.map((r) => r.httpStatusCode)).toEqual([400, 400, 400]);
    expect(failed.compositeResponse[0]!.body[0].errorCode).toBe('PROCESSING_HALTED');
    expect(failed.compositeResponse[1]!.body[0].errorCode).toBe('INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST');
    expect(sim.query('SELECT COUNT() FROM Account').totalSize).toBe(accounts);
    expect(sim.counters().apiCalls.byEndpoint['POST /composite']).toBe(2);
  });

  it('describes the org and its objects', async () => {
    const global = await conn.describeGlobal();
    expect(global.sobjects.map((s) => s.name)).toEqual([
      'User',
      'Account',
      'Contact',
      'Case',
      'CaseComment',
      'FeedItem',
      'FeedComment',
      'Site_Visit__c',
      'Service_Ticket__c',
      'ContentVersion',
      'ContentDocument',
      'ContentDocumentLink',
    ]);
    expect(global.sobjects.find((s) => s.name === 'Site_Visit__c')!).toMatchObject({ keyPrefix: 'a0X', custom: true });
    const kase = await conn.sobject('Case').describe();
    expect(kase.keyPrefix).toBe('500');
    const field = (name: string) => kase.fields.find((f) => f.name === name)!;
    expect(field('Status').type).toBe('picklist');
    expect(field('Status').picklistValues!.map((p) => p.value)).toEqual([
      'New',
      'Working',
      'Escalated',
      'Technician Assigned',
      'Technician On Site',
      'Work Completed',
      'Resolved',
      'Closed',
    ]);
    expect(field('Status').picklistValues![0]!.defaultValue).toBe(true);
    expect(field('Work_Type__c').picklistValues!.map((p) => p.value)).toEqual(['Installation', 'Repair', 'Maintenance', 'Survey']);
    expect(field('AccountId')).toMatchObject({ type: 'reference', referenceTo: ['Account'], relationshipName: 'Account' });
    expect(field('Technician_Arrived__c')).toMatchObject({ type: 'datetime', custom: true, soapType: 'xsd:dateTime' });
    expect(field('Id')).toMatchObject({ type: 'id', createable: false });
    expect(field('CaseNumber')).toMatchObject({ type: 'string', autoNumber: true, updateable: false });
    expect(kase.childRelationships.map((c) => c.relationshipName)).toContain('CaseComments');
    const visit = await conn.sobject('Site_Visit__c').describe();
    expect(visit.fields.find((f) => f.name === 'Case__c')).toMatchObject({ referenceTo: ['Case'], relationshipName: 'Case__r' });
    const user = await conn.sobject('User').describe();
    expect(user.fields.find((f) => f.name === 'Name')).toMatchObject({ type: 'string', calculated: true });
    expect((await failure(conn.sobject('Nope__c').describe())).errorCode).toBe('NOT_FOUND');
  });

  it('counts one API call per request, reports limits and enforces the daily allowance', async () => {
    sim.resetCounters();
    sim.setApiUsage({ used: 100, max: 105 });
    await conn.query('SELECT Id FROM Case');
    expect(conn.limitInfo).toEqual({ apiUsage: { used: 101, limit: 105 } });
    await conn.sobject('Contact').create([{ LastName: 'x' }, { LastName: 'y' }]);
    const limits = await conn.limits();
    // The limits call is itself an API call.
    expect(limits.DailyApiRequests).toEqual({ Max: 105, Remaining: 2 });
    await conn.sobject('Case').retrieve(sim.ref('case_install'));
    await conn.sobject('Case').retrieve(sim.ref('case_repair'));
    const err = await failure(conn.query('SELECT Id FROM Case'));
    expect(err.errorCode).toBe('REQUEST_LIMIT_EXCEEDED');
    expect(err.message).toBe('TotalRequests Limit exceeded.');
    const counters = sim.counters();
    expect(counters.apiCalls.total).toBe(5);
    expect(counters.apiCalls.byEndpoint).toEqual({
      'GET /query': 1,
      'POST /composite/sobjects': 1,
      'GET /limits': 1,
      'GET /sobjects/Case/{id}': 2,
    });
    expect(counters.logins.total).toBe(0);
    // The refused call still reports the usage, and jsforce picks it up.
    expect(conn.limitInfo).toEqual({ apiUsage: { used: 105, limit: 105 } });
  });

  it('injects faults on chosen calls', async () => {
    sim.injectFault({ kind: 'UNABLE_TO_LOCK_ROW', method: 'PATCH', path: '/sobjects/Case/', count: 1 });
    const locked = await failure(conn.sobject('Case').update({ Id: sim.ref('case_install'), Subject: 'x' }));
    expect(locked.errorCode).toBe('UNABLE_TO_LOCK_ROW');
    expect((await conn.sobject('Case').update({ Id: sim.ref('case_install'), Subject: 'x' })).success).toBe(true);

    sim.injectFault({
      kind: 'FIELD_CUSTOM_VALIDATION_EXCEPTION',
      method: 'POST',
      path: '/sobjects/CaseComment',
      message: 'Comments need a body',
      fields: ['CommentBody'],
    });
    const invalid = await failure(conn.sobject('CaseComment').create({ ParentId: sim.ref('case_install') }));
    expect(invalid.errorCode).toBe('FIELD_CUSTOM_VALIDATION_EXCEPTION');
    expect(invalid.message).toBe('Comments need a body');

    sim.injectFault({ kind: 'HTTP_5XX', status: 500, method: 'POST', path: '/sobjects/Case$' });
    expect((await failure(conn.sobject('Case').create({ Subject: 'x' }))).errorCode).toBe('UNKNOWN_EXCEPTION');

    sim.injectFault({ kind: 'LATENCY', latencyMs: 150, method: 'GET', path: '/limits' });
    const started = Date.now();
    await conn.limits();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);

    // jsforce retries idempotent GETs on 503 by itself.
    sim.injectFault({ kind: 'HTTP_5XX', status: 503, method: 'GET', path: '/query', count: 1 });
    expect((await conn.query('SELECT Id FROM Case')).totalSize).toBe(5);
    expect(sim.faults().every((f) => f.applied === f.count)).toBe(true);
  });

  it('HANG accepts requests and never answers them until its duration is over; logins too, composite subrequests never', async () => {
    const auth = { authorization: `Bearer ${conn.accessToken}` };
    const query = (timeoutMs: number) =>
      fetch(`${sim.url}/services/data/v${VERSION}/query?q=${encodeURIComponent('SELECT Id FROM Case')}`, {
        headers: auth,
        signal: AbortSignal.timeout(timeoutMs),
      });
    const hang = sim.injectFault({ kind: 'HANG', path: '/query$', count: 0, durationMs: 1_500 });
    // A fault on a subrequest path: the composite still answers (HANG is about the HTTP exchange).
    sim.injectFault({ kind: 'HANG', method: 'PATCH', path: '/sobjects/Case/', count: 0, durationMs: 1_500 });
    const started = Date.now();
    await expect(query(400)).rejects.toMatchObject({ name: 'TimeoutError' });
    await expect(query(400)).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(780);
    const composite = await fetch(`${sim.url}/services/data/v${VERSION}/composite`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        allOrNone: false,
        compositeRequest: [
          {
            method: 'PATCH',
            url: `/services/data/v${VERSION}/sobjects/Case/${sim.ref('case_install')}`,
            referenceId: 'c',
            body: { Subject: 'y' },
          },
        ],
      }),
      signal: AbortSignal.timeout(5_000),
    });
    expect(((await composite.json()) as { compositeResponse: { httpStatusCode: number }[] }).compositeResponse[0]!.httpStatusCode).toBe(
      204,
    );
    // A login that never answers: the client's timeout is the only way out.
    sim.injectFault({ kind: 'HANG', method: 'POST', path: '^/services/Soap/u/', count: 1 });
    await expect(
      fetch(`${sim.url}/services/Soap/u/${VERSION}`, {
        method: 'POST',
        headers: { 'content-type': 'text/xml', soapaction: 'login' },
        body: '<x/>',
        signal: AbortSignal.timeout(400),
      }),
    ).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(sim.faults().find((f) => f.id === hang.id)?.applied).toBe(2);
    // Over: the same query is answered again.
    await new Promise((r) => setTimeout(r, Math.max(0, 1_600 - (Date.now() - started))));
    const after = await query(5_000);
    expect(after.status).toBe(200);
    expect(((await after.json()) as { totalSize: number }).totalSize).toBe(5);
  });
});
