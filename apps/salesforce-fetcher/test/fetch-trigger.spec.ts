import { describe, expect, it } from 'vitest';
import { mapJobId } from '@broker/contracts';
import { createLogger } from '@broker/runtime';
import { makeId } from '@broker/salesforce';
import { fetcherSuite, startFetcher } from './fetcher-test-kit';

// The notification is only a hint: these tests send well-formed notifications for records that
// must not sync (the attacker's view: a forged Outbound Message for a real record id) and check
// what Salesforce is asked and what reaches the mapper.

const logger = createLogger({ service: 'fetcher-trigger-test', level: 'silent' });
const suite = fetcherSuite('fetcher_trigger', logger);
let seq = 0;

const TRIGGERED_OBJECTS = '{ Case: { mapping: x.yaml, trigger: "Send_to_Field_Nation__c = true" }, CaseComment: { messages: true } }';

async function setup(objects = TRIGGERED_OBJECTS) {
  const prefix = `tt${Date.now().toString(36)}${++seq}`;
  const fetcher = await startFetcher(suite, { prefix, logger, reads: ['CaseNumber', 'Subject', 'Account.Name'], objects, concurrency: 2 });
  const client = fetcher.clients.get('demo')!;
  // Observe (not replace) the one query each fetch sends.
  const queries: string[] = [];
  const query = client.query.bind(client);
  client.query = ((soql: string) => {
    queries.push(soql);
    return query(soql);
  }) as typeof client.query;
  const mapped = async (notificationId: string) => (await fetcher.outQueue.getJob(mapJobId('demo', notificationId)))?.data.record;
  return { run: fetcher.run, mapped, store: fetcher.store, queries, client };
}

const notification = () => makeId('04l', 700_000 + ++seq);

async function freshCase(fields: Record<string, unknown>): Promise<string> {
  return suite.sim.createRecord(
    'Case',
    { Subject: 'Trigger test', AccountId: suite.sim.ref('acme'), ...fields },
    { as: 'dispatcher@example.com' },
  );
}

describe('the fetcher re-checks the trigger at the source', () => {
  it('records a forged notification for a Case whose trigger is false as not triggered: one query, nothing mapped', async () => {
    const { run, mapped, store, queries } = await setup();
    const caseId = await freshCase({ Send_to_Field_Nation__c: false });
    suite.sim.resetCounters();
    const n = notification();
    expect(await run('Case', caseId, n)).toBe('not-triggered');
    expect(suite.sim.counters().apiCalls.total).toBe(1);
    expect(queries).toEqual([expect.stringMatching(new RegExp(`WHERE Id = '${caseId}' AND \\(Send_to_Field_Nation__c = true\\)$`))]);
    expect(await mapped(n)).toBeUndefined();
    const rows = await store.timeline(caseId);
    const row = rows.find((r) => r.stage === 'not-triggered');
    expect(row).toMatchObject({ outcome: 'skipped', sfApiCalls: 1 });
    expect(row!.message).toMatch(
      /^not triggered: no Case .* matches Send_to_Field_Nation__c = true \(the condition is false, or the record was deleted/,
    );
    expect(await store.getCorrelation({ connectionId: 'demo', sfId: caseId })).toBeNull();
    // In the ledger: Salesforce's redelivery of this notification is skipped without a call.
    expect(await store.wasInboundProcessed('demo', 'sf', n)).toBe(true);
  });

  it('passes the same Case on once its trigger is true', async () => {
    const { run, mapped } = await setup();
    const caseId = await freshCase({ Send_to_Field_Nation__c: false });
    suite.sim.updateRecord('Case', caseId, { Send_to_Field_Nation__c: true }, { as: 'dispatcher@example.com' });
    suite.sim.resetCounters();
    const n = notification();
    expect(await run('Case', caseId, n)).toBe('fetched');
    expect(suite.sim.counters().apiCalls.total).toBe(1);
    expect(await mapped(n)).toMatchObject({ Id: caseId, Subject: 'Trigger test' });
  });

  it('follows a correlated Case without the trigger (the checkbox was reset after the first sync)', async () => {
    const { run, mapped, store, queries } = await setup();
    const caseId = await freshCase({ Send_to_Field_Nation__c: false });
    const { correlation } = await store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId: caseId });
    await store.updateCorrelation(correlation.id, correlation.version, { workOrderId: 4242, state: 'synced' });
    suite.sim.resetCounters();
    const n = notification();
    expect(await run('Case', caseId, n)).toBe('fetched');
    expect(suite.sim.counters().apiCalls.total).toBe(1);
    expect(queries.at(-1)).toMatch(new RegExp(`WHERE Id = '${caseId}'$`));
    expect(await mapped(n)).toMatchObject({ Id: caseId });
  });

  it('requires the trigger of a record that was claimed but has no work order yet', async () => {
    const { run, store } = await setup();
    const caseId = await freshCase({ Send_to_Field_Nation__c: false });
    await store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId: caseId });
    expect(await run('Case', caseId, notification())).toBe('not-triggered');
  });

  it('still fails a deleted correlated record as not found', async () => {
    const { run, store } = await setup();
    const caseId = await freshCase({ Send_to_Field_Nation__c: true });
    const { correlation } = await store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId: caseId });
    await store.updateCorrelation(correlation.id, correlation.version, { workOrderId: 4243, state: 'synced' });
    suite.sim.deleteRecord('Case', caseId, { as: 'dispatcher@example.com' });
    await expect(run('Case', caseId, notification())).rejects.toThrow(/not found \(deleted/);
  });

  it('keeps the old behaviour for an object with no trigger configured', async () => {
    const { run, queries } = await setup('{ Case: { mapping: x.yaml } }');
    const caseId = await freshCase({ Send_to_Field_Nation__c: false });
    expect(await run('Case', caseId, notification())).toBe('fetched');
    expect(queries.at(-1)).toMatch(new RegExp(`WHERE Id = '${caseId}'$`));
  });
});

describe('CaseComment notifications', () => {
  it('passes a published comment by a Salesforce user, in one query', async () => {
    const { run, mapped, queries, client } = await setup();
    suite.sim.resetCounters();
    const n = notification();
    expect(await run('CaseComment', suite.sim.ref('comment_1'), n)).toBe('fetched');
    expect(suite.sim.counters().apiCalls.total).toBe(1);
    expect(queries.at(-1)).toContain(`AND (IsPublished = true) AND (CreatedById != '${client.userId}')`);
    expect(await mapped(n)).toMatchObject({ ParentId: suite.sim.ref('case_install'), IsPublished: true });
  });

  it('creates nothing for an unpublished comment, or one the integration user wrote', async () => {
    const { run, mapped } = await setup();
    const internal = notification();
    expect(await run('CaseComment', suite.sim.ref('comment_2'), internal)).toBe('not-triggered');
    expect(await mapped(internal)).toBeUndefined();
    const own = suite.sim.createRecord(
      'CaseComment',
      { ParentId: suite.sim.ref('case_install'), CommentBody: 'from the broker', IsPublished: true },
      { as: 'integration@example.com' },
    );
    const echo = notification();
    expect(await run('CaseComment', own, echo)).toBe('not-triggered');
    expect(await mapped(echo)).toBeUndefined();
  });

  it('passes internal comments too when publishedCommentsOnly is false', async () => {
    const { run } = await setup(
      '{ Case: { mapping: x.yaml, trigger: "Send_to_Field_Nation__c = true" }, CaseComment: { messages: true, publishedCommentsOnly: false } }',
    );
    expect(await run('CaseComment', suite.sim.ref('comment_2'), notification())).toBe('fetched');
  });
});
