// The Chatter sweep against the Salesforce simulator (jsforce over HTTP) and a real PostgreSQL cursor:
// what it reads, what it spends, and that a sweep stopped by its budget and resumed by a "restarted"
// process (new dependencies, the cursor in the database) reads every post exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapQueue } from '@broker/contracts';
import { parseConfig, type ConnectionConfig } from '@broker/config';
import { createJobContext, createLogger } from '@broker/runtime';
import { createSalesforceClients } from '@broker/salesforce/client';
import { createChatterStore, createPrisma, createStore, type PrismaClient, type Store } from '@broker/store';
import { createTestDatabase, fakeJob, memoryLocks, memoryQueue, simConnectionYaml, type TestDatabase } from '@broker/testing';
import { startSalesforceSim, type SalesforceSim } from '../../salesforce-sim/src/index';
import { chatterSweep, type ChatterSweepResult } from '../src/chatter-sweep.processor';

const log = createLogger({ service: 'chatter-sweep-test', level: 'silent' });
let sim: SalesforceSim;
let db: TestDatabase;
let prisma: PrismaClient;
let store: Store;
const dispatcher = { as: 'dispatcher@example.com' };

beforeAll(async () => {
  sim = await startSalesforceSim({ port: 0, logger: log });
  db = await createTestDatabase('chatter');
  prisma = createPrisma(db.url);
  store = createStore(prisma);
});
afterAll(async () => {
  await prisma?.$disconnect();
  await db?.drop();
  await sim?.close();
});

let n = 0;
/** A connection of its own (its own cursor), the sweep settings given. */
function connection(
  sweep: string,
  objects = '{ Service_Ticket__c: { mapping: x.yaml, messageChannel: chatter }, Case: { mapping: x.yaml } }',
) {
  const id = `c${++n}`;
  const yaml = simConnectionYaml({ salesforceUrl: sim.url, objects: `${objects}\n    chatterSweep: ${sweep}` }).replace(
    'id: demo',
    `id: ${id}`,
  );
  return parseConfig(yaml, '/tmp/c.yaml', {}).connections[0]!;
}

/** One sweep as a fresh process runs it: new clients, queue and store objects; only the database persists. */
async function sweepOnce(c: ConnectionConfig, options: { now?: Date } = {}) {
  const map = memoryQueue(mapQueue);
  const deps = {
    clients: createSalesforceClients([c], log),
    chatter: createChatterStore(prisma),
    mapQueue: map,
    locks: memoryLocks(),
    now: options.now ? () => options.now! : undefined,
  };
  const job = fakeJob({ connectionId: c.id }, { queueName: 'sf.chatter' });
  const before = sim.counters().apiCalls.total;
  const result = (await chatterSweep(
    job as never,
    deps,
    createJobContext(job as never, { log, connections: new Map([[c.id, c]]), timeline: store }),
  )) as ChatterSweepResult;
  return {
    result,
    calls: sim.counters().apiCalls.total - before,
    queued: map.jobs.map((j) => j.data as { sfObject: string; sfId: string; record: Record<string, unknown> }),
  };
}

async function dispatched(c: ConnectionConfig, sfId: string, workOrderId: number): Promise<void> {
  const { correlation } = await store.claimCorrelation({
    connectionId: c.id,
    sfObject: sfId.startsWith('500') ? 'Case' : 'Service_Ticket__c',
    sfId,
  });
  await store.updateCorrelation(correlation.id, correlation.version, { workOrderId, state: 'synced' });
}

const newTicket = (name: string) => sim.createRecord('Service_Ticket__c', { Name: name }, dispatcher);
const post = (parentId: string, body: string, as = dispatcher) => sim.createRecord('FeedItem', { ParentId: parentId, Body: body }, as);

describe('chatter sweep', () => {
  it('spends no call while no Chatter record has a work order, and none for a connection without Chatter objects', async () => {
    const c = connection('{ maxApiCalls: 4 }');
    post(newTicket('ST-idle'), 'not dispatched yet');
    const { result, calls } = await sweepOnce(c);
    expect(calls).toBe(0);
    expect(result).toMatchObject({ apiCalls: 0, records: 0, complete: true });
    expect((await createChatterStore(prisma).getChatterCursor(c.id))?.windowUntil).toBeNull();

    const none = connection('{ maxApiCalls: 4 }', '{ Case: { mapping: x.yaml } }');
    expect((await sweepOnce(none)).calls).toBe(0);
  });

  it("reads the dispatched records' posts and replies by others, never the broker's own or other records'", async () => {
    const c = connection('{ maxApiCalls: 4, firstLookbackMinutes: 5 }');
    const ticket = newTicket('ST-read');
    const other = newTicket('ST-not-dispatched');
    await dispatched(c, ticket, 501);
    const userPost = post(ticket, 'Gate code is 1234');
    const ownPost = post(ticket, 'Work order 501 was published', { as: 'integration@example.com' });
    const reply = sim.createRecord('FeedComment', { FeedItemId: ownPost, CommentBody: 'Thanks!' }, dispatcher);
    sim.createRecord('FeedComment', { FeedItemId: userPost, CommentBody: 'noted' }, { as: 'integration@example.com' });
    post(other, 'not for Field Nation');
    // A Case of this connection is not a Chatter object: its posts are not read.
    const caseId = sim.ref('case_install');
    await dispatched(c, caseId, 502);
    post(caseId, 'case chatter');

    const { result, calls, queued } = await sweepOnce(c);
    expect(calls).toBe(2); // posts, then replies, for the one dispatched ticket
    expect(result).toMatchObject({ apiCalls: 2, records: 1, complete: true, queued: 2 });
    expect(queued.map((q) => [q.sfObject, q.sfId]).sort()).toEqual([
      ['FeedComment', reply],
      ['FeedItem', userPost],
    ]);
    expect(queued.find((q) => q.sfId === userPost)!.record).toMatchObject({ ParentId: ticket, Body: 'Gate code is 1234' });
  });

  it('reads the overlap again but hands over only what has no message link yet', async () => {
    const c = connection('{ maxApiCalls: 4, overlapSeconds: 600 }');
    const ticket = newTicket('ST-overlap');
    await dispatched(c, ticket, 503);
    const p1 = post(ticket, 'first');
    const first = await sweepOnce(c);
    expect(first.queued.map((q) => q.sfId)).toEqual([p1]);
    await store.claimMessageLink({ connectionId: c.id, direction: 'sf_to_fn', workOrderId: 503, caseCommentId: p1 });
    const p2 = post(ticket, 'second');
    const second = await sweepOnce(c);
    expect(second.result.read).toBe(2); // p1 again (the overlap), and p2
    expect(second.queued.map((q) => q.sfId)).toEqual([p2]);
  });

  it('stops at maxApiCalls and a restarted sweep resumes where it stopped: every post exactly once', async () => {
    const c = connection('{ maxApiCalls: 3, parentIdsPerQuery: 1, overlapSeconds: 0, firstLookbackMinutes: 5 }');
    const tickets = [newTicket('ST-b1'), newTicket('ST-b2'), newTicket('ST-b3')];
    for (const [i, t] of tickets.entries()) await dispatched(c, t, 600 + i);
    const posts = tickets.map((t, i) => post(t, `post ${i}`));
    // One window for both sweeps: the second resumes the first's.
    const now = new Date(sim.now() + 2_000);

    const first = await sweepOnce(c, { now });
    expect(first.result).toMatchObject({ apiCalls: 3, complete: false, stoppedBy: 'maxApiCalls' });
    const cursor = await createChatterStore(prisma).getChatterCursor(c.id);
    expect(cursor).toMatchObject({ afterParentId: [...tickets].sort()[0], chunkPhase: 'comments' });

    const second = await sweepOnce(c, { now: new Date(now.getTime() + 60_000) });
    expect(second.result).toMatchObject({ apiCalls: 3, complete: true });
    const handed = [...first.queued, ...second.queued].map((q) => q.sfId);
    expect(handed.sort()).toEqual([...posts].sort());
    expect((await createChatterStore(prisma).getChatterCursor(c.id))?.watermark.getTime()).toBe(now.getTime());
  });

  it('resumes inside a page run exactly, by CreatedDate and Id, when many posts share one second', async () => {
    const c = connection(
      '{ maxApiCalls: 1, pageSize: 200, overlapSeconds: 0, firstLookbackMinutes: 5 }',
      '{ Service_Ticket__c: { mapping: x.yaml, messageChannel: chatter, chatter: { replies: false } } }',
    );
    const ticket = newTicket('ST-ties');
    await dispatched(c, ticket, 700);
    const posts = Array.from({ length: 230 }, (_, i) => post(ticket, `tie ${i}`));
    const now = new Date(sim.now() + 2_000);
    const first = await sweepOnce(c, { now });
    expect(first.result).toMatchObject({ apiCalls: 1, read: 200, complete: false });
    const second = await sweepOnce(c, { now });
    expect(second.result).toMatchObject({ apiCalls: 1, read: 30, complete: true });
    const handed = [...first.queued, ...second.queued].map((q) => q.sfId);
    expect(new Set(handed).size).toBe(handed.length);
    expect(handed.sort()).toEqual([...posts].sort());
  });

  it('refuses bad settings with the path named', () => {
    expect(() => connection('{ maxApiCalls: 0 }')).toThrow(/chatterSweep\.maxApiCalls/);
    expect(() => connection('{ pageSize: 100 }')).toThrow(/chatterSweep\.pageSize/);
    expect(() => connection('{}', '{ Service_Ticket__c: { mapping: x.yaml, messageChannel: CaseComment } }')).toThrow(
      /CaseComments belong to Cases only/,
    );
    expect(() => connection('{}', '{ Service_Ticket__c: { mapping: x.yaml, chatter: { bodyField: Body } } }')).toThrow(
      /need messageChannel: chatter/,
    );
  });
});
