import { describe, expect, it } from 'vitest';
import { mapJobId } from '@broker/contracts';
import { createLogger } from '@broker/runtime';
import { makeId } from '@broker/salesforce';
import { fetcherSuite, startFetcher } from './fetcher-test-kit';

// Issue 15 at the fetcher, against the Salesforce simulator: the object's cancel condition is
// evaluated by Salesforce in the same one API call as the record's query (a composite request of two
// query subrequests), and a record that is not triggered gets a failed outcome.
const logger = createLogger({ service: 'fetcher-cancel-test', level: 'silent' });
const suite = fetcherSuite('fetcher_cancel', logger);
let seq = 0;

const OBJECTS =
  '{ Case: { mapping: x.yaml, trigger: "Send_to_Field_Nation__c = true", writeBack: { syncStatusField: Field_Nation_Sync_Status__c, syncMessageField: Field_Nation_Sync_Message__c }, cancel: { condition: "Status = \'Closed\'", reason: 58, reasonField: Reason } } }';

async function setup(objects = OBJECTS) {
  const prefix = `tfc${Date.now().toString(36)}${++seq}`;
  const fetcher = await startFetcher(suite, { prefix, logger, reads: ['CaseNumber', 'Subject'], objects, concurrency: 1 });
  const mapped = async (n: string) => (await fetcher.outQueue.getJob(mapJobId('demo', n)))?.data;
  return { ...fetcher, mapped };
}
const notification = () => makeId('04l', 800_000 + ++seq);
const freshCase = (fields: Record<string, unknown>) =>
  suite.sim.createRecord('Case', { Subject: 'Cancel test', AccountId: suite.sim.ref('acme'), ...fields }, { as: 'dispatcher@example.com' });

describe('the fetcher evaluates the cancel condition in its one call', () => {
  it('reads the record and the condition in one composite call: false, then true', async () => {
    const { run, mapped } = await setup();
    const caseId = freshCase({ Send_to_Field_Nation__c: true, Status: 'Working', Reason: 'Other' });
    suite.sim.resetCounters();
    const a = notification();
    expect(await run('Case', caseId, a)).toBe('fetched');
    expect(suite.sim.counters().apiCalls).toMatchObject({ total: 1, byEndpoint: { 'POST /composite': 1 } });
    const first = await mapped(a);
    expect(first).toMatchObject({ cancelRequested: false, sfApiCalls: 1, record: { Id: caseId, Subject: 'Cancel test', Reason: 'Other' } });

    suite.sim.updateRecord('Case', caseId, { Status: 'Closed' }, { as: 'dispatcher@example.com' });
    const b = notification();
    expect(await run('Case', caseId, b)).toBe('fetched');
    expect((await mapped(b))?.cancelRequested).toBe(true);
    expect(suite.sim.counters().apiCalls.total).toBe(2);
  });

  it('fails for good, naming the cancel condition, when Salesforce refuses it (a field that does not exist)', async () => {
    const { run } = await setup(OBJECTS.replace("Status = 'Closed'", 'No_Such_Field__c = true'));
    const caseId = freshCase({ Send_to_Field_Nation__c: true });
    await expect(run('Case', caseId, notification())).rejects.toThrow(/^INVALID_FIELD: the cancel condition: /);
  });

  it('writes no cancel flag for an object without cancel settings: the plain query, as before', async () => {
    const { run, mapped } = await setup('{ Case: { mapping: x.yaml, trigger: "Send_to_Field_Nation__c = true" } }');
    const caseId = freshCase({ Send_to_Field_Nation__c: true, Status: 'Closed' });
    suite.sim.resetCounters();
    const n = notification();
    expect(await run('Case', caseId, n)).toBe('fetched');
    expect(suite.sim.counters().apiCalls.byEndpoint).toEqual({ 'GET /query': 1 });
    expect((await mapped(n))?.cancelRequested).toBeUndefined();
  });
});

describe('a record that is not triggered gets that outcome', () => {
  it('queues one failed outcome naming the trigger; none with notTriggered: false', async () => {
    const { run, writeQueue } = await setup();
    const caseId = freshCase({ Send_to_Field_Nation__c: false });
    expect(await run('Case', caseId, notification())).toBe('not-triggered');
    const jobs = (await writeQueue.getJobs(['waiting', 'prioritized'])).filter((j) => j.data.sfId === caseId);
    expect(jobs.map((j) => j.data.fields)).toEqual([
      {
        Field_Nation_Sync_Status__c: 'Failed',
        Field_Nation_Sync_Message__c:
          'Not triggered: the record does not match Send_to_Field_Nation__c = true; nothing was sent to Field Nation',
      },
    ]);
    expect(jobs[0]!.data.cause.kind).toBe('sync-feedback');

    const off = await setup(OBJECTS.replace('writeBack: {', 'writeBack: { notTriggered: false,'));
    const other = freshCase({ Send_to_Field_Nation__c: false });
    expect(await off.run('Case', other, notification())).toBe('not-triggered');
    expect((await off.writeQueue.getJobs(['waiting', 'prioritized'])).filter((j) => j.data.sfId === other)).toEqual([]);
  });
});
