import { QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueue, fetchJobId, mapJobId, mapQueue, sfFetchQueue } from '@broker/contracts';
import { parseConfig } from '@broker/config';
import { createLogger, createProducerConnection, createWorkerConnection, openQueue, startWorker } from '@broker/runtime';
import { createSalesforceClients } from '@broker/salesforce/client';
import { createPrisma, createStore, type PrismaClient } from '@broker/store';
import { createTestDatabase, redisUrl, simConnectionYaml, type TestDatabase } from '@broker/testing';
import { startSalesforceSim, type SalesforceSim } from '../../salesforce-sim/src/index';
import { fetchRecord } from '../src/fetch-record.processor';

let sim: SalesforceSim;
let db: TestDatabase;
let prisma: PrismaClient;
const cleanups: (() => Promise<unknown>)[] = [];
const prefix = `tf${Date.now().toString(36)}`;
const logger = createLogger({ service: 'fetcher-test', level: 'silent' });

beforeAll(async () => {
  sim = await startSalesforceSim({ port: 0, logger });
  db = await createTestDatabase('fetcher');
  prisma = createPrisma(db.url);
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await prisma?.$disconnect();
  await db?.drop();
  await sim?.close();
});

const READS = ['CaseNumber', 'Subject', 'Account.Name', 'Account.Owner.Manager.Manager.Email', 'Contact.Email', 'Owner.Name'];

async function setup() {
  const config = parseConfig(simConnectionYaml({ salesforceUrl: sim.url }), '/tmp/t.yaml', {});
  const connections = new Map(config.connections.map((c) => [c.id, c]));
  const clients = createSalesforceClients(config.connections, logger);
  const conn = createWorkerConnection(redisUrl());
  const producer = createProducerConnection(redisUrl());
  const fetchQueue = openQueue(sfFetchQueue, producer, prefix);
  const outQueue = openQueue(mapQueue, conn, prefix);
  const store = createStore(prisma);
  const worker = startWorker(
    sfFetchQueue,
    { 'fetch-record': fetchRecord },
    { clients, reads: new Map([['demo/Case', READS]]), store, mapQueue: outQueue, redis: conn, prefix },
    { connection: conn, prefix, logger, concurrency: 4, connections, timeline: store },
  );
  const events = new QueueEvents(sfFetchQueue.name, { connection: createWorkerConnection(redisUrl()), prefix });
  await events.waitUntilReady();
  cleanups.push(async () => {
    await worker.close();
    await events.close();
    await fetchQueue.obliterate({ force: true });
    await outQueue.obliterate({ force: true });
    await fetchQueue.close();
    await outQueue.close();
    conn.disconnect();
    producer.disconnect();
  });
  const run = async (sfId: string, notificationId: string, receivedAt = new Date().toISOString()) => {
    const job = await enqueue(
      fetchQueue,
      'fetch-record',
      { connectionId: 'demo', sfObject: 'Case', sfId, notificationId, source: 'outbound-message', receivedAt, snapshot: {} },
      { jobId: fetchJobId.outboundMessage('demo', notificationId), attempts: 1 },
    );
    return job.waitUntilFinished(events, 15_000);
  };
  return { run, outQueue, clients, store };
}

describe('salesforce-fetcher against the Salesforce simulator', () => {
  it('reads a record with one SOQL query at 5 levels, reuses the session, and refreshes it once when expired', async () => {
    const { run, outQueue, clients } = await setup();
    sim.resetCounters();
    const caseId = sim.ref('case_install');
    expect(await run(caseId, '04l000000000101AAA')).toBe('fetched');
    const mapped = await outQueue.getJob(mapJobId('demo', '04l000000000101AAA'));
    expect(mapped?.data.record).toMatchObject({
      Id: caseId,
      Account: { Owner: { Manager: { Manager: { Email: 'riley.vp@example.com' } } } },
    });
    expect(mapped?.data.record.SystemModstamp).toEqual(expect.any(String));
    expect(mapped?.data.integrationUserId).toMatch(/^005/);

    expect(await run(sim.ref('case_repair'), '04l000000000102AAA')).toBe('fetched');
    sim.expireSessions({});
    expect(await run(sim.ref('case_maint'), '04l000000000103AAA')).toBe('fetched');
    const counters = sim.counters();
    expect(sim.loginCount()).toBe(2);
    expect(clients.get('demo')!.logins).toBe(2);
    expect(counters.apiCalls.total).toBe(3);
  });

  it('skips a redelivered notification and a notification covered by a later fetch, at no API cost', async () => {
    const { run } = await setup();
    const caseId = sim.ref('case_repair');
    const before = new Date(Date.now() - 60_000).toISOString();
    expect(await run(caseId, '04l000000000201AAA')).toBe('fetched');
    sim.resetCounters();
    expect(await run(caseId, '04l000000000202AAA', before)).toBe('coalesced');
    expect(sim.counters().apiCalls.total).toBe(0);
  });

  it('fails a missing record permanently with a clear reason', async () => {
    const { run, store } = await setup();
    await expect(run('500000000000999AAA', '04l000000000302AAA')).rejects.toThrow(/not found \(deleted/);
    const rows = await store.timeline('500000000000999AAA');
    expect(rows.map((r) => r.stage)).toContain('received');
  });
});
