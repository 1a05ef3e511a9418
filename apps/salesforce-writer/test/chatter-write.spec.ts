// Field Nation messages written as Chatter: a post (FeedItem) on the record, a reply (FeedComment) on
// the post of the thread, each in the one composite call of its cause; and a retry after the process
// died between Salesforce saving the post and the link being stored finds the post instead of posting again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type ConnectionConfig } from '@broker/config';
import { createJobContext, createLogger, createProducerConnection, redisRecordLocks } from '@broker/runtime';
import { createSalesforceClients, type SalesforceClient } from '@broker/salesforce/client';
import { createPrisma, createStore, type PrismaClient, type Store } from '@broker/store';
import { createTestDatabase, redisUrl, simConnectionYaml, type TestDatabase } from '@broker/testing';
import { startSalesforceSim, type SalesforceSim } from '../../salesforce-sim/src/index';
import { writeRecord, type SfWriterDeps } from '../src/write-record.processor';

let db: TestDatabase;
let prisma: PrismaClient;
let sim: SalesforceSim;
let deps: SfWriterDeps & { store: Store };
let clients: Map<string, SalesforceClient>;
let connections: Map<string, ConnectionConfig>;
const redis = createProducerConnection(redisUrl());
const log = createLogger({ service: 'sfw-chatter-test', level: 'silent' });

beforeAll(async () => {
  db = await createTestDatabase('sfwchatter');
  prisma = createPrisma(db.url);
  sim = await startSalesforceSim({ port: 0, logger: log });
  const config = parseConfig(
    simConnectionYaml({ salesforceUrl: sim.url, objects: '{ Service_Ticket__c: { mapping: x.yaml, messageChannel: chatter } }' }),
    '/tmp/c.yaml',
    {},
  );
  connections = new Map([['demo', config.connections[0]!]]);
  clients = createSalesforceClients(config.connections, log);
  const prefix = `tc${Date.now().toString(36)}`;
  deps = { clients, store: createStore(prisma), locks: redisRecordLocks(redis, prefix), redis, prefix };
});
afterAll(async () => {
  redis.disconnect();
  await prisma.$disconnect();
  await db.drop();
  await sim.close();
});

let n = 0;
const ticket = () => sim.ref('ticket_1');
const job = (data: Record<string, unknown>) =>
  ({
    id: `sfwc-${++n}-${Date.now()}`,
    queueName: 'sf.write',
    attemptsMade: 0,
    timestamp: Date.now(),
    data: {
      connectionId: 'demo',
      sfObject: 'Service_Ticket__c',
      sfId: ticket(),
      fields: {},
      cause: { kind: 'fn-message', id: `d${n}`, workOrderId: 900 },
      ...data,
    },
  }) as never;
const run = (j: never) => writeRecord(j, deps, createJobContext(j, { log, connections, timeline: deps.store }));
const posts = (body: string) =>
  (
    sim.query(`SELECT Id, Body, Type, IsRichText, CreatedById FROM FeedItem WHERE ParentId = '${ticket()}'`).records as {
      Id: string;
      Body: string;
      Type: string;
      IsRichText: boolean;
      CreatedById: string;
    }[]
  ).filter((p) => p.Body === body);

describe('salesforce-writer: Chatter', () => {
  it('writes the fields and a Chatter post in one call, the post as a plain-text TextPost by the integration user', async () => {
    await clients.get('demo')!.ensureSession();
    sim.resetCounters();
    const body = `Technician is on the way ${Date.now()}`;
    const fnMessageId = `m-${Date.now()}`;
    const result = await run(
      job({
        fields: { Status__c: 'Scheduled' },
        comment: { body, isPublished: false, fnMessageId, channel: 'FeedItem', bodyField: 'Body' },
      }),
    );
    expect(result).toBe('written');
    expect(sim.counters().apiCalls.total).toBe(1);
    expect(sim.getRecord(ticket())!.Status__c).toBe('Scheduled');
    expect(posts(body)).toEqual([expect.objectContaining({ Type: 'TextPost', IsRichText: false, CreatedById: sim.ref('integration') })]);
    const link = await deps.store.findMessageLinkByFnMessage('demo', 900, fnMessageId);
    expect(link?.caseCommentId).toBe(posts(body)[0]!.Id);
  });

  it("writes a reply as a comment on the thread's post", async () => {
    const postId = sim.createRecord('FeedItem', { ParentId: ticket(), Body: 'Where is the key?' }, { as: 'dispatcher@example.com' });
    const body = `Under the mat ${Date.now()}`;
    expect(
      await run(job({ comment: { body, isPublished: false, fnMessageId: `r-${Date.now()}`, channel: 'FeedComment', feedItemId: postId } })),
    ).toBe('written');
    const replies = sim.query(`SELECT Id, CommentBody, ParentId FROM FeedComment WHERE FeedItemId = '${postId}'`).records as {
      CommentBody: string;
      ParentId: string;
    }[];
    expect(replies).toEqual([expect.objectContaining({ CommentBody: body, ParentId: ticket() })]);
  });

  it('after a crash between Salesforce saving the post and the link being stored, the retry finds the post and posts nothing', async () => {
    const body = `Parts arrive Tuesday ${Date.now()}`;
    const fnMessageId = `c-${Date.now()}`;
    const first = job({ comment: { body, isPublished: false, fnMessageId, channel: 'FeedItem' } }) as { id: string };
    const real = deps.store.completeMessageLink;
    deps.store.completeMessageLink = (() => Promise.reject(new Error('SIGKILL'))) as Store['completeMessageLink'];
    try {
      await expect(run(first as never)).rejects.toThrow('SIGKILL');
    } finally {
      deps.store.completeMessageLink = real;
    }
    expect(posts(body)).toHaveLength(1);
    sim.resetCounters();
    expect(await run({ ...first, attemptsMade: 1 } as never)).toBe('nothing');
    expect(posts(body)).toHaveLength(1);
    expect(sim.counters().apiCalls.total).toBe(1); // the search only
    expect((await deps.store.findMessageLinkByFnMessage('demo', 900, fnMessageId))?.caseCommentId).toBe(posts(body)[0]!.Id);
  });

  it('a post Salesforce refuses (object without feed tracking) fails for good with its message, nothing half-written', async () => {
    const visit = sim.ref('visit_1');
    const err = await run(
      job({
        sfObject: 'Site_Visit__c',
        sfId: visit,
        fields: { Notes__c: 'x' },
        comment: { body: 'hello', isPublished: false, channel: 'FeedItem' },
      }),
    ).catch((e: Error) => e);
    expect((err as Error).name).toBe('UnrecoverableError');
    expect((err as Error).message).toMatch(/MALFORMED_ID/);
    expect(sim.getRecord(visit)!.Notes__c).not.toBe('x');
  });
});
