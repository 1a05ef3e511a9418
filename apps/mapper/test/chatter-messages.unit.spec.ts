import { describe, expect, it } from 'vitest';
import { mapQueue, fnWriteQueue } from '@broker/contracts';
import { parseConfig } from '@broker/config';
import { createJobContext, createLogger } from '@broker/runtime';
import { demoConnectionYaml, fakeJob, memoryQueue, memoryTimeline } from '@broker/testing';
import { commentDestination } from '../src/comment-destination';
import { chatterText, mapFeedMessage } from '../src/feed-message';

const log = createLogger({ service: 'chatter-unit', level: 'silent' });
const connection = parseConfig(
  demoConnectionYaml({
    salesforceExtra: '      integrationUserId: 005000000000001AAA',
    objects:
      '{ Case: { mapping: x.yaml }, Service_Ticket__c: { mapping: x.yaml, messageChannel: chatter, chatter: { bodyField: Body, commentBodyField: CommentBody } }, Site_Visit__c: { mapping: x.yaml } }',
  }),
  '/tmp/c.yaml',
  {},
).connections[0]!;
const TICKET = 'a1S000000000001EAA';
const POST = '0D5000000000001CAA';

function store(
  links: { caseCommentId: string; fnMessageId: string | null; workOrderId: number }[] = [],
  createdAt = new Date(Date.now() - 3_600_000),
) {
  return {
    getCorrelation: async ({ sfId }: { sfId: string }) =>
      sfId === TICKET ? ({ sfId, sfObject: 'Service_Ticket__c', workOrderId: 42, createdAt } as never) : null,
    findMessageLinkByComment: async (_c: string, id: string) => (links.find((l) => l.caseCommentId === id) ?? null) as never,
    findMessageLinkByFnMessage: async (_c: string, wo: number, m: string) =>
      (links.find((l) => l.fnMessageId === m && l.workOrderId === wo) ?? null) as never,
  };
}

async function map(sfObject: 'FeedItem' | 'FeedComment', record: Record<string, unknown>, s = store()) {
  const out = memoryQueue(fnWriteQueue);
  const timeline = memoryTimeline();
  const data = {
    connectionId: 'demo',
    sfObject,
    sfId: record.Id as string,
    notificationId: `chatter-${record.Id}`,
    record,
    fetchedAt: new Date().toISOString(),
    sfApiCalls: 0,
  };
  const job = fakeJob(data, { queueName: mapQueue.name });
  const result = await mapFeedMessage(
    job as never,
    { store: s, fnWriteQueue: out },
    connection,
    createJobContext(job as never, { log, connections: new Map([['demo', connection]]), timeline }),
  );
  return {
    result,
    posted: out.jobs.map((j) => j.data as Record<string, unknown>),
    skipped: timeline.of('message', 'skipped').map((r) => r.message),
  };
}

describe('Chatter posts and replies → work-order messages', () => {
  const now = new Date().toISOString();
  it("posts a user's post, with the author, as a message of the record's work order", async () => {
    const { result, posted } = await map('FeedItem', {
      Id: POST,
      ParentId: TICKET,
      Body: 'Side door, please',
      CreatedById: '005000000000002AAA',
      CreatedBy: { Name: 'Dana Dispatcher' },
      CreatedDate: now,
    });
    expect(result).toBe('message');
    expect(posted).toEqual([
      expect.objectContaining({ caseCommentId: POST, workOrderId: 42, body: 'Side door, please', authorName: 'Dana Dispatcher' }),
    ]);
  });

  it('turns a rich-text body into plain text', () => {
    expect(chatterText('<p>Gate <b>1234</b> &amp; bell</p><p>Thanks</p>', true)).toBe('Gate 1234 & bell\nThanks');
    expect(chatterText('<b>as typed</b>', false)).toBe('<b>as typed</b>');
  });

  it('replies to the message its post is linked to', async () => {
    const { posted } = await map(
      'FeedComment',
      {
        Id: '0D7000000000001CAA',
        FeedItemId: POST,
        ParentId: TICKET,
        CommentBody: 'On it',
        CreatedById: '005000000000002AAA',
        CreatedDate: now,
      },
      store([{ caseCommentId: POST, fnMessageId: '77', workOrderId: 42 }]),
    );
    expect(posted[0]).toMatchObject({ replyToMessageId: '77', body: 'On it' });
  });

  it("skips the broker's own, linked, undispatched, empty, and pre-dispatch posts, each with its reason", async () => {
    const base = { Id: POST, ParentId: TICKET, Body: 'x', CreatedById: '005000000000002AAA', CreatedDate: now };
    expect((await map('FeedItem', { ...base, CreatedById: '005000000000001AAA' })).skipped[0]).toMatch(/written by the broker/);
    expect((await map('FeedItem', base, store([{ caseCommentId: POST, fnMessageId: '1', workOrderId: 42 }]))).skipped[0]).toMatch(
      /already linked/,
    );
    expect((await map('FeedItem', { ...base, ParentId: '500000000000001AAA' })).skipped[0]).toMatch(/has no work order/);
    expect((await map('FeedItem', { ...base, Body: ' <p></p> ', IsRichText: true })).skipped[0]).toMatch(/no text in Body/);
    const old = new Date(Date.now() - 7_200_000).toISOString();
    expect((await map('FeedItem', { ...base, CreatedDate: old })).skipped[0]).toMatch(/before the record was dispatched/);
  });
});

describe('where an event comment goes', () => {
  it('a Case: a CaseComment; a Chatter object: a post, or a comment on the post of the thread; no channel: nowhere', async () => {
    const s = store([
      { caseCommentId: POST, fnMessageId: '77', workOrderId: 42 },
      { caseCommentId: '00a000000000001AAA', fnMessageId: '78', workOrderId: 42 },
    ]);
    expect(await commentDestination(connection, 'Case', s, { workOrderId: 42 })).toEqual({});
    expect(await commentDestination(connection, 'Service_Ticket__c', s, { workOrderId: 42 })).toEqual({
      channel: 'FeedItem',
      bodyField: 'Body',
    });
    expect(await commentDestination(connection, 'Service_Ticket__c', s, { workOrderId: 42, parentMessageId: '77' })).toEqual({
      channel: 'FeedComment',
      feedItemId: POST,
      bodyField: 'CommentBody',
    });
    // A thread whose first message is linked to something that is not a post (another work order, a CaseComment): a new post.
    expect(await commentDestination(connection, 'Service_Ticket__c', s, { workOrderId: 43, parentMessageId: '77' })).toMatchObject({
      channel: 'FeedItem',
    });
    expect(await commentDestination(connection, 'Service_Ticket__c', s, { workOrderId: 42, parentMessageId: '78' })).toMatchObject({
      channel: 'FeedItem',
    });
    expect(await commentDestination(connection, 'Site_Visit__c', s, { workOrderId: 42 })).toBeNull();
  });
});
