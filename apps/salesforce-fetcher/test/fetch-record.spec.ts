import { describe, expect, it } from 'vitest';
import { mapJobId } from '@broker/contracts';
import { createLogger } from '@broker/runtime';
import { fetcherSuite, startFetcher } from './fetcher-test-kit';

const prefix = `tf${Date.now().toString(36)}`;
const logger = createLogger({ service: 'fetcher-test', level: 'silent' });
const suite = fetcherSuite('fetcher', logger);

const READS = ['CaseNumber', 'Subject', 'Account.Name', 'Account.Owner.Manager.Manager.Email', 'Contact.Email', 'Owner.Name'];

async function setup() {
  const fetcher = await startFetcher(suite, { prefix, logger, reads: READS, concurrency: 4 });
  const run = (sfId: string, notificationId: string, receivedAt?: string) => fetcher.run('Case', sfId, notificationId, receivedAt);
  return { ...fetcher, run };
}

describe('salesforce-fetcher against the Salesforce simulator', () => {
  it('reads a record with one SOQL query at 5 levels, reuses the session, and refreshes it once when expired', async () => {
    const { run, outQueue, clients } = await setup();
    suite.sim.resetCounters();
    const caseId = suite.sim.ref('case_install');
    expect(await run(caseId, '04l000000000101AAA')).toBe('fetched');
    const mapped = await outQueue.getJob(mapJobId('demo', '04l000000000101AAA'));
    expect(mapped?.data.record).toMatchObject({
      Id: caseId,
      Account: { Owner: { Manager: { Manager: { Email: 'riley.vp@example.com' } } } },
    });
    expect(mapped?.data.record.SystemModstamp).toEqual(expect.any(String));
    expect(mapped?.data.integrationUserId).toMatch(/^005/);

    expect(await run(suite.sim.ref('case_repair'), '04l000000000102AAA')).toBe('fetched');
    suite.sim.expireSessions({});
    expect(await run(suite.sim.ref('case_maint'), '04l000000000103AAA')).toBe('fetched');
    const counters = suite.sim.counters();
    expect(suite.sim.loginCount()).toBe(2);
    expect(clients.get('demo')!.logins).toBe(2);
    expect(counters.apiCalls.total).toBe(3);
  });

  it('skips a redelivered notification and a notification covered by a later fetch, at no API cost', async () => {
    const { run } = await setup();
    const caseId = suite.sim.ref('case_repair');
    const before = new Date(Date.now() - 60_000).toISOString();
    expect(await run(caseId, '04l000000000201AAA')).toBe('fetched');
    suite.sim.resetCounters();
    expect(await run(caseId, '04l000000000202AAA', before)).toBe('coalesced');
    expect(suite.sim.counters().apiCalls.total).toBe(0);
  });

  it('fetches a burst of notifications for one record once: the others wait for it or find its mark, and are covered', async () => {
    const { run, store } = await setup();
    const caseId = suite.sim.createRecord('Case', { Subject: 'Burst', AccountId: suite.sim.ref('acme') });
    const receivedAt = new Date(Date.now() - 1_000).toISOString();
    suite.sim.resetCounters();
    const ids = Array.from({ length: 6 }, (_, i) => `04l00000000040${i}AAA`);
    const results = await Promise.all(ids.map((n) => run(caseId, n, receivedAt)));
    expect(results.filter((r) => r === 'fetched')).toHaveLength(1);
    expect(results.filter((r) => r === 'coalesced')).toHaveLength(5);
    expect(suite.sim.counters().apiCalls.total).toBe(1);
    for (const n of ids) expect(await store.wasInboundProcessed('demo', 'sf', n)).toBe(true);
  });

  it('fails a missing record permanently with a clear reason', async () => {
    const { run, store } = await setup();
    await expect(run('500000000000999AAA', '04l000000000302AAA')).rejects.toThrow(/not found \(deleted/);
    const rows = await store.timeline('500000000000999AAA');
    expect(rows.map((r) => r.stage)).toContain('received');
  });
});
