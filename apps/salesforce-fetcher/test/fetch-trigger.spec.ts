import { QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueue, fetchJobId, mapJobId, mapQueue, sfFetchQueue } from '@broker/contracts';
import { parseConfig } from '@broker/config';
import { createLogger, createProducerConnection, createWorkerConnection, openQueue, startWorker } from '@broker/runtime';
import { makeId } from '@broker/salesforce';
import { createSalesforceClients } from '@broker/salesforce/client';
import { createPrisma, createStore, type PrismaClient } from '@broker/store';
import { createTestDatabase, redisUrl, simConnectionYaml, type TestDatabase } from '@broker/testing';
import { startSalesforceSim, type SalesforceSim } from '../../salesforce-sim/src/index';
import { fetchRecord } from '../src/fetch-record.processor';

// The notification is only a hint: these tests send well-formed notifications for records that
// must not sync (the attacker's view: a forged Outbound Message for a real record id) and check
// what Salesforce is asked and what reaches the mapper.

let sim: SalesforceSim;
let db: TestDatabase;
let prisma: PrismaClient;
const cleanups: (() => Promise<unknown>)[] = [];
const logger = createLogger({ service: 'fetcher-trigger-test', level: 'silent' });
let seq = 0;

beforeAll(async () => {
  sim = await startSalesforceSim({ port: 0, logger });
  db = await createTestDatabase('fetcher_trigger');
  prisma = createPrisma(db.url);
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await prisma?.$disconnect();
  await db?.drop();
  await sim?.close();
});

const TRIGGERED_OBJECTS = '{ Case: { mapping: x.yaml, trigger: "Send_to_Field_Nation__c = true" }, CaseComment: { messages: true } }';

async function setup(objects = TRIGGERED_OBJECTS) {
  const prefix = `tt${Date.now().toString(36)}${++seq}`;
  const config = parseConfig(simConnectionYaml({ salesforceUrl: sim.url, objects }), '/tmp/t.yaml', {});
  const connections = new Map(config.connections.map((c) => [c.id, c]));
  const clients = createSalesforceClients(config.connections, logger);
  const client = clients.get('demo')!;
  // Observe (not replace) the one query each fetch sends.
  const queries: string[] = [];
  const query = client.query.bind(client);
  client.query = ((soql: string) => {
    queries.push(soql);
    return query(soql);
  }) as typeof client.query;
  const conn = createWorkerConnection(redisUrl());
  const producer = createProducerConnection(redisUrl());
  const fetchQueue = openQueue(sfFetchQueue, producer, prefix);
  const outQueue = openQueue(mapQueue, conn, prefix);
  const store = createStore(prisma);
  const reads = new Map([['demo/Case', ['CaseNumber', 'Subject', 'Account.Name']]]);
  const worker = startWorker(
    sfFetchQueue,
    { 'fetch-record': fetchRecord },
    { clients, reads, store, mapQueue: outQueue, redis: conn, prefix },
    { connection: conn, prefix, logger, concurrency: 2, connections, timeline: store },
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
  const run = async (sfObject: string, sfId: string, notificationId: string) => {
    const job = await enqueue(
      fetchQueue,
      'fetch-record',
      {
        connectionId: 'demo',
        sfObject,
        sfId,
        notificationId,
        source: 'outbound-message',
        receivedAt: new Date().toISOString(),
        snapshot: {},
      },
      { jobId: fetchJobId.outboundMessage('demo', notificationId), attempts: 1 },
    );
    return job.waitUntilFinished(events, 15_000);
  };
  const mapped = async (notificationId: string) => (await outQueue.getJob(mapJobId('demo', notificationId)))?.data.record;
  return { run, mapped, store, queries, client };
}

const notification = () => makeId('04l', 700_000 + ++seq);

async function freshCase(fields: Record<string, unknown>): Promise<string> {
  return sim.createRecord('Case', { Subject: 'Trigger test', AccountId: sim.ref('acme'), ...fields }, { as: 'dispatcher@example.com' });
}

describe('the fetcher re-checks the trigger at the source', () => {
  it('records a forged notification for a Case whose trigger is false as not triggered: one query, nothing mapped', async () => {
    const { run, mapped, store, queries } = await setup();
    const caseId = await freshCase({ Send_to_Field_Nation__c: false });
    sim.resetCounters();
    const n = notification();
    expect(await run('Case', caseId, n)).toBe('not-triggered');
    expect(sim.counters().apiCalls.total).toBe(1);
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
    sim.updateRecord('Case', caseId, { Send_to_Field_Nation__c: true }, { as: 'dispatcher@example.com' });
    sim.resetCounters();
    const n = notification();
    expect(await run('Case', caseId, n)).toBe('fetched');
    expect(sim.counters().apiCalls.total).toBe(1);
    expect(await mapped(n)).toMatchObject({ Id: caseId, Subject: 'Trigger test' });
  });

  it('follows a correlated Case without the trigger (the checkbox was reset after the first sync)', async () => {
    const { run, mapped, store, queries } = await setup();
    const caseId = await freshCase({ Send_to_Field_Nation__c: false });
    const { correlation } = await store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId: caseId });
    await store.updateCorrelation(correlation.id, correlation.version, { workOrderId: 4242, state: 'synced' });
    sim.resetCounters();
    const n = notification();
    expect(await run('Case', caseId, n)).toBe('fetched');
    expect(sim.counters().apiCalls.total).toBe(1);
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
    sim.deleteRecord('Case', caseId, { as: 'dispatcher@example.com' });
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
    sim.resetCounters();
    const n = notification();
    expect(await run('CaseComment', sim.ref('comment_1'), n)).toBe('fetched');
    expect(sim.counters().apiCalls.total).toBe(1);
    expect(queries.at(-1)).toContain(`AND (IsPublished = true) AND (CreatedById != '${client.userId}')`);
    expect(await mapped(n)).toMatchObject({ ParentId: sim.ref('case_install'), IsPublished: true });
  });

  it('creates nothing for an unpublished comment, or one the integration user wrote', async () => {
    const { run, mapped } = await setup();
    const internal = notification();
    expect(await run('CaseComment', sim.ref('comment_2'), internal)).toBe('not-triggered');
    expect(await mapped(internal)).toBeUndefined();
    const own = sim.createRecord(
      'CaseComment',
      { ParentId: sim.ref('case_install'), CommentBody: 'from the broker', IsPublished: true },
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
    expect(await run('CaseComment', sim.ref('comment_2'), notification())).toBe('fetched');
  });
});
