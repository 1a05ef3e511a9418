import type { Connection } from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSalesforceSim, type SalesforceSim } from '../src/index';
import { failure, soapConnection } from './helpers';

type Row = Record<string, any>;

describe('SOQL through jsforce', () => {
  let sim: SalesforceSim;
  let conn: Connection;

  beforeAll(async () => {
    sim = await startSalesforceSim({ port: 0, queryPageSize: 200 });
    conn = await soapConnection(sim);
  });
  afterAll(async () => {
    await sim.close();
  });

  it('nests 1- to 5-level child-to-parent paths with attributes', async () => {
    const res = await conn.query<Row>(
      `SELECT Id, Subject, Account.Name, Contact.Account.Owner.Name, Account.Owner.Manager.Manager.Email, Contact.Account.Owner.Manager.Manager.Email
       FROM Case WHERE Id = '${sim.ref('case_install')}'`,
    );
    expect(res.totalSize).toBe(1);
    const c = res.records[0]!;
    expect(c.attributes).toEqual({ type: 'Case', url: `/services/data/v62.0/sobjects/Case/${sim.ref('case_install')}` });
    expect(Object.keys(c)).toEqual(['attributes', 'Id', 'Subject', 'Account', 'Contact']);
    expect(c.Account.attributes.type).toBe('Account');
    expect(c.Account.Name).toBe('Acme Facilities');
    expect(c.Account.Owner.Manager.Manager.Email).toBe('riley.vp@example.com');
    expect(c.Account.Owner.Manager.attributes).toEqual({
      type: 'User',
      url: `/services/data/v62.0/sobjects/User/${sim.ref('sales_manager')}`,
    });
    expect(c.Contact.Account.Owner.Name).toBe('Sam Sales');
    expect(c.Contact.Account.Owner.Manager.Manager.Email).toBe('riley.vp@example.com');
  });

  it('returns JSON null for an empty parent and keeps the row', async () => {
    const res = await conn.query<Row>(
      `SELECT Id, Account.Name, Account.Owner.Email, Contact.Email FROM Case WHERE Id = '${sim.ref('case_orphan')}'`,
    );
    expect(res.records[0]!.Account).toBeNull();
    expect(res.records[0]!.Contact).toBeNull();
    const deep = await conn.query<Row>(
      `SELECT Name, Parent.Owner.Manager.Manager.Manager.Email FROM Account WHERE Name = 'Globex Retail West'`,
    );
    // Parent → Owner (Sam) → Manager (Jordan) → Manager (Riley) → Manager (Casey)
    expect(deep.records[0]!.Parent.Owner.Manager.Manager.Manager.Email).toBe('casey.chief@example.com');
    const midNull = await conn.query<Row>(`SELECT Name, Manager.Manager.Email FROM User WHERE Username = 'riley.vp@example.com'`);
    expect(midNull.records[0]!.Manager.Manager).toBeNull();
  });

  it('rejects paths deeper than 5 relationships', async () => {
    const err = await failure(conn.query('SELECT Contact.Account.Owner.Manager.Manager.Manager.Email FROM Case'));
    expect(err.errorCode).toBe('MALFORMED_QUERY');
  });

  it('filters with comparison, IN, LIKE, AND/OR/NOT and parentheses', async () => {
    const names = async (soql: string) => (await conn.query<Row>(soql)).records.map((r) => r.Name as string).sort();
    expect(await names("SELECT Name FROM Account WHERE BillingCity = 'austin'")).toEqual(['Globex Retail', 'Initech']);
    expect(await names("SELECT Name FROM Account WHERE Name LIKE 'Glob%' AND NOT Name LIKE '%West'")).toEqual(['Globex Retail']);
    expect(await names("SELECT Name FROM Account WHERE (BillingState = 'IL' OR BillingState = 'CA') AND ParentId != null")).toEqual([
      'Globex Retail West',
    ]);
    expect(await names("SELECT Name FROM Account WHERE Type IN ('Prospect', 'Customer - Direct')")).toEqual(['Acme Facilities', 'Initech']);
    expect(await names("SELECT Name FROM Account WHERE Type NOT IN ('Prospect') AND ParentId = null")).toEqual([
      'Acme Facilities',
      'Globex Retail',
    ]);
    expect(await names('SELECT Name FROM Account WHERE BillingLatitude > 41.5 AND BillingLongitude <= -87')).toEqual(['Acme Facilities']);
    const bool = await conn.query('SELECT Id FROM CaseComment WHERE IsPublished = true');
    expect(bool.totalSize).toBe(1);
    const mixed = await failure(conn.query("SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'"));
    expect(mixed.errorCode).toBe('MALFORMED_QUERY');
  });

  it('understands datetime literals and date literals', async () => {
    const recent = await conn.query<Row>('SELECT Subject FROM Case WHERE CreatedDate = LAST_N_DAYS:3 ORDER BY CreatedDate');
    expect(recent.records.map((r) => r.Subject)).toEqual([
      'Walk-in freezer not cooling',
      'Install 3 POS terminals at the Addison St store',
      'Site survey request (walk-in customer)',
    ]);
    const old = await conn.query('SELECT Id FROM Case WHERE CreatedDate < LAST_N_DAYS:30');
    expect(old.totalSize).toBe(1);
    const future = await conn.query('SELECT Id FROM Case WHERE Preferred_Service_Date__c > TODAY');
    expect(future.totalSize).toBe(2);
    const iso = new Date(sim.now() - 36 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const since = await conn.query(`SELECT Id FROM Case WHERE CreatedDate >= ${iso}`);
    expect(since.totalSize).toBe(2);
    const quoted = await failure(conn.query(`SELECT Id FROM Case WHERE CreatedDate >= '${iso}'`));
    expect(quoted.errorCode).toBe('INVALID_QUERY_FILTER_OPERATOR');
    const res = await conn.query<Row>(`SELECT CreatedDate FROM Case WHERE Id = '${sim.ref('case_install')}'`);
    expect(res.records[0]!.CreatedDate).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$/);
  });

  it('filters a date field with date values and date literals', async () => {
    const day = (offsetDays: number) => new Date(sim.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
    const ids = ['2025-03-09', '2025-03-10', '2025-03-11', day(1)].map((d, i) =>
      sim.createRecord('Site_Visit__c', { Name: `DATE-${i}`, Preferred_Visit_Date__c: d }),
    );
    const names = async (where: string) =>
      (await conn.query<Row>(`SELECT Name FROM Site_Visit__c WHERE ${where} ORDER BY Name`)).records.map((r) => r.Name as string);
    expect(await names('Preferred_Visit_Date__c = 2025-03-10')).toEqual(['DATE-1']);
    expect(await names('Preferred_Visit_Date__c > 2025-03-09 AND Preferred_Visit_Date__c <= 2025-03-11')).toEqual(['DATE-1', 'DATE-2']);
    expect(await names('Preferred_Visit_Date__c IN (2025-03-09, 2025-03-11)')).toEqual(['DATE-0', 'DATE-2']);
    expect(await names('Preferred_Visit_Date__c = TOMORROW')).toEqual(['DATE-3']);
    // visit_1 is seeded with today+2d.
    expect(await names('Preferred_Visit_Date__c > TODAY')).toEqual(['DATE-3', 'SV-0001']);
    expect(await names('Preferred_Visit_Date__c = null')).toEqual([]);

    const rec = (await conn.sobject('Site_Visit__c').retrieve(ids[1]!)) as Row;
    expect(rec.Preferred_Visit_Date__c).toBe('2025-03-10');
    const described = await conn.sobject('Site_Visit__c').describe();
    expect(described.fields.find((f) => f.name === 'Preferred_Visit_Date__c')?.type).toBe('date');

    const quoted = await failure(conn.query("SELECT Id FROM Site_Visit__c WHERE Preferred_Visit_Date__c = '2025-03-10'"));
    expect(quoted.errorCode).toBe('INVALID_QUERY_FILTER_OPERATOR');
    const datetime = await failure(conn.query('SELECT Id FROM Site_Visit__c WHERE Preferred_Visit_Date__c = 2025-03-10T00:00:00Z'));
    expect(datetime.errorCode).toBe('INVALID_QUERY_FILTER_OPERATOR');
    for (const id of ids) sim.deleteRecord('Site_Visit__c', id);
  });

  it('orders with ASC/DESC and NULLS FIRST/LAST, then LIMIT and OFFSET', async () => {
    const q = async (soql: string) => (await conn.query<Row>(soql)).records.map((r) => r.LastName as string);
    expect(await q('SELECT LastName FROM Contact ORDER BY AccountId NULLS FIRST, LastName')).toEqual([
      'Nobody',
      'Coyote',
      'Scorpio',
      'Gibbons',
    ]);
    expect(await q('SELECT LastName FROM Contact ORDER BY Account.Name DESC NULLS LAST')).toEqual([
      'Gibbons',
      'Scorpio',
      'Coyote',
      'Nobody',
    ]);
    expect(await q('SELECT LastName FROM Contact ORDER BY LastName LIMIT 2 OFFSET 1')).toEqual(['Gibbons', 'Nobody']);
    const count = await conn.query("SELECT COUNT() FROM Case WHERE Status = 'New'");
    expect(count.totalSize).toBe(3);
    expect(count.records).toEqual([]);
  });

  it('pages through nextRecordsUrl with queryMore and autoFetch', async () => {
    const ids = [];
    for (let i = 0; i < 450; i++)
      ids.push(sim.createRecord('Site_Visit__c', { Name: `SV-${String(i).padStart(4, '0')}`, Case__c: sim.ref('case_repair') }));
    const first = await conn.query<Row>('SELECT Id, Name, Case__r.Subject FROM Site_Visit__c ORDER BY Name');
    expect(first.totalSize).toBe(451);
    expect(first.done).toBe(false);
    expect(first.records).toHaveLength(200);
    // jsforce rebuilds the URL from the locator (the relative wire form is checked in wire-protocol.spec).
    expect(first.nextRecordsUrl).toMatch(/\/services\/data\/v62\.0\/query\/01g[A-Za-z0-9]+-200$/);
    const second = await conn.queryMore<Row>(first.nextRecordsUrl!);
    expect(second.records).toHaveLength(200);
    const third = await conn.queryMore<Row>(second.nextRecordsUrl!);
    expect(third.done).toBe(true);
    expect(third.records).toHaveLength(51);
    expect(third.nextRecordsUrl).toBeUndefined();
    expect(third.records[50]!.Case__r.Subject).toBe('Walk-in freezer not cooling');

    const all: Row[] = [];
    await new Promise<void>((resolve, reject) => {
      conn
        .query<Row>('SELECT Id FROM Site_Visit__c')
        .on('record', (r: Row) => all.push(r))
        .on('end', () => resolve())
        .on('error', reject)
        .run({ autoFetch: true, maxFetch: 1000 });
    });
    expect(all).toHaveLength(451);
    const bad = await failure(conn.queryMore('01gDOESNOTEXIST-200'));
    expect(bad.errorCode).toBe('INVALID_QUERY_LOCATOR');
    for (const id of ids) sim.deleteRecord('Site_Visit__c', id);
  });

  it('queryAll includes deleted records, query does not', async () => {
    const id = sim.createRecord('Contact', { LastName: 'Temp' });
    sim.deleteRecord('Contact', id);
    expect((await conn.query(`SELECT Id FROM Contact WHERE Id = '${id}'`)).totalSize).toBe(0);
    const all = await conn.query<Row>(`SELECT Id, IsDeleted FROM Contact WHERE Id = '${id}'`, { scanAll: true });
    expect(all.records[0]!.IsDeleted).toBe(true);
  });

  it('accepts 15-character ids in filters', async () => {
    const id18 = sim.ref('case_repair');
    const res = await conn.query<Row>(
      `SELECT Id FROM Case WHERE Id = '${id18.slice(0, 15)}' OR AccountId IN ('${sim.ref('initech').slice(0, 15)}')`,
    );
    expect(res.records.map((r) => r.Id).sort()).toEqual([id18, sim.ref('case_maint')].sort());
  });

  it('reports bad SOQL as Salesforce does', async () => {
    const cases: [string, string][] = [
      ['SELECT Id FROM', 'MALFORMED_QUERY'],
      ['SELEC Id FROM Case', 'MALFORMED_QUERY'],
      ["SELECT Id FROM Case WHERE Subject = 'unterminated", 'MALFORMED_QUERY'],
      ['SELECT Id FROM Case LIMIT x', 'MALFORMED_QUERY'],
      ['SELECT Id, COUNT() FROM Case', 'MALFORMED_QUERY'],
      ['SELECT Bogus__c FROM Case', 'INVALID_FIELD'],
      ['SELECT Account.Bogus FROM Case', 'INVALID_FIELD'],
      ['SELECT Acount.Name FROM Case', 'INVALID_FIELD'],
      ['SELECT Id FROM Case ORDER BY Nope', 'INVALID_FIELD'],
      ['SELECT Id FROM Nothing__c', 'INVALID_TYPE'],
      ["SELECT Id FROM Case WHERE Id = 'junk'", 'INVALID_QUERY_FILTER_OPERATOR'],
      ["SELECT Id FROM Case WHERE Send_to_Field_Nation__c = 'yes'", 'INVALID_QUERY_FILTER_OPERATOR'],
    ];
    for (const [soql, code] of cases) {
      const err = await failure(conn.query(soql));
      expect(err.errorCode, soql).toBe(code);
    }
    const err = await failure(conn.query('SELECT Bogus__c FROM Case'));
    expect(err.message).toContain("No such column 'Bogus__c' on entity 'Case'");
  });
});
