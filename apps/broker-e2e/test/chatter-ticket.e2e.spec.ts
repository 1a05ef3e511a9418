// A custom object (Service_Ticket__c) end to end: created and updated as a work order, its own event
// rules (different fields and statuses from the Case's for the same events), and its messages through
// Chatter both ways, with no echo, exactly once, and the Salesforce calls each message costs counted
// by the simulator.
import { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sfChatterQueue } from '@broker/contracts';
import { createProducerConnection, openQueue } from '@broker/runtime';
import { createDispatchCase, PUBLISHED_CASE, startHarness, type Harness } from '../../../scripts/lib/broker-harness';

let h: Harness;
let sweeps: ReturnType<typeof openQueue<typeof sfChatterQueue>>;
let redis: ReturnType<typeof createProducerConnection>;

const dispatcher = { as: 'dispatcher@example.com' };
const PROVIDER = 557;

beforeAll(async () => {
  h = await startHarness({
    caseObject: PUBLISHED_CASE,
    extraObjects: [
      '      Service_Ticket__c:',
      '        mapping: mappings/ticket-to-work-order.yaml',
      '        trigger: Send_to_Field_Nation__c = true',
      '        afterCreate: { publish: true }',
      '        eventRules: mappings/ticket-events.yaml',
      '        messageChannel: chatter',
    ].join('\n'),
    connectionExtra: '    chatterSweep: { maxApiCalls: 4, overlapSeconds: 30, firstLookbackMinutes: 10 }\n',
    // A lost composite answer is retried within seconds.
    salesforceTimeouts: { connectMs: 2_000, requestMs: 5_000 },
  });
  // The ticket's Flow and Outbound Message, as an admin would add them for the custom object.
  h.sf.defineOutboundMessage({
    name: 'Field_Nation_Ticket_Dispatch',
    object: 'Service_Ticket__c',
    fields: ['Name', 'Status__c', 'Send_to_Field_Nation__c'],
    endpointUrl: h.outboundUrl,
    integrationUser: 'integration@example.com',
  });
  h.sf.defineFlow({
    name: 'Send_Ticket_to_Field_Nation',
    object: 'Service_Ticket__c',
    trigger: 'createOrUpdate',
    outboundMessage: 'Field_Nation_Ticket_Dispatch',
    condition: { all: [{ field: 'Send_to_Field_Nation__c', equals: true }, { userNot: 'integration@example.com' }] },
  });
  redis = createProducerConnection(h.redisUrl);
  sweeps = openQueue(sfChatterQueue, redis, h.queuePrefix);
  // Only the sweeps a test queues run: a scheduled one would spend calls the tests count.
  await sweeps.removeJobScheduler('chatter-demo');
});
afterAll(async () => {
  await sweeps?.close();
  redis?.disconnect();
  await h?.stop();
});

let sweepNo = 0;
interface SweepResult {
  apiCalls: number;
  read: number;
  queued: number;
  records: number;
  complete: boolean;
}
/** One Chatter sweep of the demo connection, as the scheduler runs it; its result. */
async function sweep(): Promise<SweepResult> {
  const id = `manual-${++sweepNo}-${Date.now()}`;
  await sweeps.add('chatter-sweep', { connectionId: 'demo' }, { jobId: id });
  return h.waitFor(`sweep ${id}`, async () => {
    const job = await Job.fromId(sweeps, id);
    if (!job) return undefined;
    if (await job.isFailed()) throw new Error(`sweep failed: ${job.failedReason}`);
    return (await job.isCompleted()) ? (job.returnvalue as SweepResult) : undefined;
  });
}

function createTicket(name: string, fields: Record<string, unknown> = {}): string {
  return h.sf.createRecord(
    'Service_Ticket__c',
    {
      Name: name,
      Subject__c: 'Badge reader offline',
      Account__c: h.sf.ref('acme'),
      Contact__c: h.sf.ref('wile'),
      Preferred_Date__c: new Date(Date.now() + 86_400_000).toISOString(),
      Send_to_Field_Nation__c: true,
      ...fields,
    },
    dispatcher,
  );
}
const ticketOf = (id: string) => h.sf.getRecord(id)!;
const postsOn = (parentId: string) =>
  h.sf.query(`SELECT Id, Body, CreatedById FROM FeedItem WHERE ParentId = '${parentId}' ORDER BY CreatedDate ASC`).records as {
    Id: string;
    Body: string;
    CreatedById: string;
  }[];
const repliesOn = (feedItemId: string) =>
  h.sf.query(`SELECT Id, CommentBody, CreatedById FROM FeedComment WHERE FeedItemId = '${feedItemId}'`).records as {
    Id: string;
    CommentBody: string;
    CreatedById: string;
  }[];
interface ListedMessage {
  msg_id: string;
  message: string;
  parent_id?: string | null;
  replies?: ListedMessage[];
}
let fnToken: string | undefined;
/** Every message of the work order (replies included), as `GET /workorders/{id}/messages` lists them. */
async function messagesOf(workOrderId: number): Promise<ListedMessage[]> {
  fnToken ??= await fetch(h.fn.tokenUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      grant_type: 'password',
      ...{ client_id: h.fn.credentials.clientId, client_secret: h.fn.credentials.clientSecret },
      username: h.fn.credentials.username,
      password: h.fn.credentials.password,
    }),
  }).then(async (r) => ((await r.json()) as { access_token: string }).access_token);
  const res = await fetch(`${h.fn.restUrl}/workorders/${workOrderId}/messages?access_token=${fnToken}`);
  const { results } = (await res.json()) as { results: ListedMessage[] };
  return results.flatMap((m) => [m, ...(m.replies ?? [])]);
}
async function quiet(sfId: string): Promise<void> {
  let last = -1;
  await h.waitFor('timeline settles', async () => {
    const n = (await h.store.timeline(sfId)).length;
    const same = n === last;
    last = n;
    if (!same) await new Promise((r) => setTimeout(r, 300));
    return same;
  });
}
const idle = () => h.waitFor('deliveries settled', async () => (await h.fn.waitForDeliveries(20_000), true));

describe('Service_Ticket__c: a custom object end to end', () => {
  let ticketId: string;
  let workOrderId: number;

  it('creates the work order from the ticket and updates it when the ticket changes', async () => {
    ticketId = createTicket('ST-E2E-1');
    const c = await h.waitForSynced(ticketId);
    workOrderId = c.workOrderId!;
    expect(c.sfObject).toBe('Service_Ticket__c');
    const wo = h.fn.getWorkOrder(workOrderId)!;
    expect(wo.title).toBe('ST-E2E-1: Badge reader offline');
    expect(wo.incident_id).toBe(ticketId);

    h.sf.updateRecord('Service_Ticket__c', ticketId, { Subject__c: 'Badge reader and door strike offline' }, dispatcher);
    await h.waitFor('title updated', () => h.fn.getWorkOrder(workOrderId)!.title === 'ST-E2E-1: Badge reader and door strike offline');
  });

  it('applies its own event rules: the same event writes other fields and statuses than on a Case', async () => {
    const caseId = createDispatchCase(h.sf, 'Case beside the ticket');
    const caseWorkOrder = (await h.waitForSynced(caseId)).workOrderId!;
    await quiet(ticketId);
    h.fn.buyer.assign(workOrderId, PROVIDER);
    h.fn.buyer.assign(caseWorkOrder, PROVIDER);
    await h.waitFor('ticket scheduled', () => ticketOf(ticketId).Status__c === 'Scheduled');
    await h.waitFor('case assigned', () => h.sf.getRecord(caseId)!.Status === 'Technician Assigned');
    expect(ticketOf(ticketId).Technician_Name__c).toMatch(/\w+ \w+/);
    expect(ticketOf(ticketId).Field_Nation_Status__c).toBe('Assigned');
    // The Case's rules map the status name through their table; the ticket's copy it.
    expect(h.sf.getRecord(caseId)!.Field_Nation_Status__c).toBe('Assigned');

    h.fn.technician.checkIn(workOrderId, { providerId: PROVIDER });
    await h.waitFor('ticket in progress', () => ticketOf(ticketId).Status__c === 'In Progress');
    h.fn.technician.checkOut(workOrderId, { providerId: PROVIDER });
    h.fn.technician.complete(workOrderId, { providerId: PROVIDER, closeoutNotes: 'Replaced the reader.' });
    await h.waitFor('ticket completed', () => ticketOf(ticketId).Status__c === 'Completed');
    // The work-done comment is a Chatter post on the ticket (no CaseComment exists for it).
    await h.waitFor('completion post', () => postsOn(ticketId).some((p) => p.Body.includes('Replaced the reader.')));
    expect(postsOn(ticketId).every((p) => p.CreatedById === h.sf.ref('integration'))).toBe(true);
  });

  it('sends a Chatter post to Field Nation once, at no call of its own, and never reads its own posts back', async () => {
    await idle();
    await quiet(ticketId);
    const own = postsOn(ticketId).length;
    h.sf.resetCounters();
    const postId = h.sf.createRecord('FeedItem', { ParentId: ticketId, Body: 'Use the loading dock door, please.' }, dispatcher);
    const first = await sweep();
    expect(first.queued).toBe(1);
    // Posts and replies: one query each for the dispatched records (one record chunk here).
    expect(first.apiCalls).toBe(2);
    await h.waitFor('message on the work order', async () =>
      (await messagesOf(workOrderId)).some((m) => m.message === 'Dana Dispatcher: Use the loading dock door, please.'),
    );
    const link = await h.waitFor('link', () => h.store.findMessageLinkByComment('demo', postId));
    expect(link.direction).toBe('sf_to_fn');

    // The next sweeps read the post again (the overlap) and the broker's own posts never: nothing new.
    const again = await sweep();
    expect(again.queued).toBe(0);
    await idle();
    await quiet(ticketId);
    expect((await messagesOf(workOrderId)).filter((m) => m.message.endsWith('Use the loading dock door, please.'))).toHaveLength(1);
    // The Field Nation webhook of the broker's own message wrote nothing back (no echo).
    expect(postsOn(ticketId)).toHaveLength(own + 1);
    // Salesforce calls: the two sweeps' queries only (2 each); the message itself cost none.
    expect(h.sf.counters().apiCalls.total).toBe(first.apiCalls + again.apiCalls);
  });

  it('writes a Field Nation message as a Chatter post, and a reply in its thread as a comment on that post, one call each', async () => {
    await quiet(ticketId);
    h.sf.resetCounters();
    const techMessageId = h.fn.technician.postMessage(workOrderId, 'On my way, 20 minutes.', { providerId: PROVIDER });
    const post = await h.waitFor('post from Field Nation', () => postsOn(ticketId).find((p) => p.Body.includes('On my way, 20 minutes.')));
    expect(post.CreatedById).toBe(h.sf.ref('integration'));
    // The writer completes the link after Salesforce's answer: the post may be listed a moment before.
    const link = await h.waitFor('post link', async () => {
      const l = await h.store.findMessageLinkByFnMessage('demo', workOrderId, techMessageId);
      return l?.caseCommentId ? l : undefined;
    });
    expect(link.caseCommentId).toBe(post.Id);

    // The dispatcher answers in the post's thread: the reply goes to Field Nation as a reply.
    const replyId = h.sf.createRecord('FeedComment', { FeedItemId: post.Id, CommentBody: 'Thanks, gate code 4411.' }, dispatcher);
    expect((await sweep()).queued).toBe(1);
    const reply = await h.waitFor('reply on Field Nation', async () =>
      (await messagesOf(workOrderId)).find((m) => m.message.endsWith('gate code 4411.')),
    );
    expect(String(reply.parent_id)).toBe(techMessageId);
    // The writer completes the link after Field Nation's answer: the message may be listed a moment before.
    const replyLink = await h.waitFor('reply link', async () => {
      const l = await h.store.findMessageLinkByComment('demo', replyId);
      return l?.fnMessageId ? l : undefined;
    });
    expect(replyLink.fnMessageId).toBe(String(reply.msg_id));

    // The technician replies in the same thread: a comment on the same post.
    h.fn.technician.postMessage(workOrderId, 'Got it.', { providerId: PROVIDER, parentId: techMessageId });
    await h.waitFor('comment on the post', () => repliesOn(post.Id).some((c) => c.CommentBody.includes('Got it.')));
    await idle();
    await quiet(ticketId);
    const written = (await h.store.timeline(ticketId)).filter((t) => t.stage === 'sf-written' && t.outcome === 'ok' && t.sfApiCalls > 0);
    // Two messages written, one composite call each, plus the one sweep's two queries.
    expect(h.sf.counters().apiCalls.total).toBe(2 + 2);
    expect(written.slice(-2).every((t) => t.sfApiCalls === 1)).toBe(true);
    expect(repliesOn(post.Id).filter((c) => c.CommentBody.includes('Got it.'))).toHaveLength(1);
    expect(postsOn(ticketId).filter((p) => p.Body.includes('On my way'))).toHaveLength(1);
  });

  it('after Salesforce saved the post but its answer was lost, the retry finds the post instead of posting it twice', async () => {
    await quiet(ticketId);
    // The composite that writes the post is carried out, then its answer never arrives.
    h.sf.injectFault({ kind: 'LOST_RESPONSE', method: 'POST', path: '/composite$', count: 1 });
    h.sf.resetCounters();
    h.fn.technician.postMessage(workOrderId, 'Parts are in the van.', { providerId: PROVIDER });
    await h.waitFor('post written', () => postsOn(ticketId).some((p) => p.Body.includes('Parts are in the van.')));
    await h.waitFor('the retry completed the link', async () => {
      const rows = await h.store.timeline(ticketId);
      return rows.some((t) => t.stage === 'sf-written' && t.outcome === 'skipped' && /already written/.test(t.message ?? ''));
    });
    await idle();
    await quiet(ticketId);
    expect(postsOn(ticketId).filter((p) => p.Body.includes('Parts are in the van.'))).toHaveLength(1);
    // The lost write and the retry's one search: no second post.
    expect(h.sf.counters().apiCalls.total).toBe(2);
    const post = postsOn(ticketId).find((p) => p.Body.includes('Parts are in the van.'))!;
    const link = await h.store.findMessageLinkByComment('demo', post.Id);
    expect(link?.direction).toBe('fn_to_sf');
  });

  it('costs nothing to sweep while no Chatter record has a work order, and refuses a post on an untracked object', async () => {
    // Posting on an object whose feed is not tracked is refused by Salesforce (the simulator here).
    expect(() => h.sf.createRecord('FeedItem', { ParentId: h.sf.ref('visit_1'), Body: 'x' }, dispatcher)).toThrow(/incorrect type/);
    await h.prisma.$executeRawUnsafe(`UPDATE correlation SET work_order_id = NULL WHERE sf_object = 'Service_Ticket__c'`);
    try {
      h.sf.resetCounters();
      const result = await sweep();
      expect(result).toMatchObject({ apiCalls: 0, records: 0, complete: true });
      expect(h.sf.counters().apiCalls.total).toBe(0);
    } finally {
      await h.prisma.$executeRawUnsafe(`UPDATE correlation SET work_order_id = ${workOrderId} WHERE sf_id = '${ticketId}'`);
    }
  });
});
