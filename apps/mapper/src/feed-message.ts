import type { Job } from 'bullmq';
import { enqueue, fnWriteJobId, type fnWriteQueue, type JobDataOf, type mapQueue, type QueueLike } from '@broker/contracts';
import { CHATTER_DEFAULTS, messageChannelOf, type ConnectionConfig } from '@broker/config';
import type { JobContext } from '@broker/runtime';
import { sameSalesforceId } from '@broker/salesforce';
import type { Store } from '@broker/store';

type MapJob = Job<JobDataOf<typeof mapQueue, 'map-record'>, unknown, 'map-record'>;

export interface FeedMessageDeps {
  store: Pick<Store, 'getCorrelation' | 'findMessageLinkByComment'>;
  fnWriteQueue: QueueLike<typeof fnWriteQueue>;
}

/**
 * Queue a Salesforce message (CaseComment, FeedItem or FeedComment) for the fieldnation-writer, one
 * job per message id, and note it on the record's timeline: the last step of both message channels.
 */
export async function queueMessagePost(
  deps: Pick<FeedMessageDeps, 'fnWriteQueue'>,
  ctx: JobContext,
  m: {
    connectionId: string;
    /** How the timeline names the message: comment, post, reply. */
    what: string;
    messageId: string;
    parentId: string;
    workOrderId: number;
    body: string;
    authorName?: string;
    replyToMessageId?: string;
  },
): Promise<'message'> {
  await enqueue(
    deps.fnWriteQueue,
    'post-message',
    {
      connectionId: m.connectionId,
      sfId: m.parentId,
      caseCommentId: m.messageId,
      workOrderId: m.workOrderId,
      body: m.body,
      authorName: m.authorName,
      ...(m.replyToMessageId ? { replyToMessageId: m.replyToMessageId } : {}),
    },
    { jobId: fnWriteJobId.message(m.connectionId, m.messageId) },
  );
  ctx.log.debug({ messageId: m.messageId, workOrderId: m.workOrderId }, `${m.what} queued as work-order message`);
  await ctx.stage('message', 'ok', {
    sfId: m.parentId,
    workOrderId: m.workOrderId,
    message: `${m.what} ${m.messageId} → work order ${m.workOrderId}${m.replyToMessageId ? ` (reply to message ${m.replyToMessageId})` : ''}`,
  });
  return 'message';
}

/**
 * A post earlier than the record's dispatch by more than this is not a message to the technician;
 * the allowance covers a Salesforce clock behind the broker's (CreatedDate is Salesforce's time).
 */
export const DISPATCH_CLOCK_ALLOWANCE_MS = 5 * 60_000;

/** Plain text of a rich-text Chatter body (Field Nation messages are plain text). */
export function chatterText(body: string, isRichText: boolean): string {
  if (!isRichText) return body;
  return body
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|li|ul|ol|blockquote|pre|h\d)>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/**
 * A Chatter post (FeedItem) or reply (FeedComment) the sweep found becomes a work-order message, once:
 * not one the broker wrote (its user, or a message link), on a record with a work order whose object
 * sends its messages through Chatter, written after the record was dispatched. A reply to a post that
 * is linked to a Field Nation message becomes a reply to that message.
 */
export async function mapFeedMessage(job: MapJob, deps: FeedMessageDeps, connection: ConnectionConfig, ctx: JobContext): Promise<string> {
  const d = job.data;
  const r = d.record as {
    ParentId?: string;
    FeedItemId?: string;
    IsRichText?: boolean;
    CreatedById?: string;
    CreatedDate?: string;
    CreatedBy?: { Name?: string } | null;
  } & Record<string, unknown>;
  const skip = async (message: string, workOrderId?: number | null) => {
    await ctx.stage('message', 'skipped', { sfId: r.ParentId ?? d.sfId, workOrderId, message });
    return 'skipped';
  };
  const what = d.sfObject === 'FeedItem' ? 'Chatter post' : 'Chatter reply';
  const integrationUser = connection.salesforce.integrationUserId ?? d.integrationUserId;
  if (sameSalesforceId(r.CreatedById, integrationUser)) return skip(`${what} ${d.sfId} was written by the broker (no echo)`);
  if (await deps.store.findMessageLinkByComment(d.connectionId, d.sfId))
    return skip(`${what} ${d.sfId} is already linked to a work-order message`);
  if (!r.ParentId) return skip(`${what} ${d.sfId} has no parent record`);
  const correlation = await deps.store.getCorrelation({ connectionId: d.connectionId, sfId: r.ParentId });
  if (!correlation?.workOrderId) return skip(`record ${r.ParentId} has no work order`);
  if (messageChannelOf(connection, correlation.sfObject) !== 'chatter')
    return skip(`${correlation.sfObject} does not send its messages through Chatter (messageChannel)`, correlation.workOrderId);
  const created = Date.parse(r.CreatedDate ?? '');
  if (Number.isFinite(created) && created < correlation.createdAt.getTime() - DISPATCH_CLOCK_ALLOWANCE_MS)
    return skip(`${what} ${d.sfId} was written before the record was dispatched`, correlation.workOrderId);

  const options = { ...CHATTER_DEFAULTS, ...connection.objects[correlation.sfObject]?.chatter };
  const field = d.sfObject === 'FeedItem' ? options.bodyField : options.commentBodyField;
  const raw = r[field];
  const body = typeof raw === 'string' ? chatterText(raw, r.IsRichText === true) : '';
  if (!body.trim()) return skip(`${what} ${d.sfId} has no text in ${field}`, correlation.workOrderId);

  let replyToMessageId: string | undefined;
  if (d.sfObject === 'FeedComment' && r.FeedItemId) {
    const post = await deps.store.findMessageLinkByComment(d.connectionId, r.FeedItemId);
    if (post?.fnMessageId && post.workOrderId === correlation.workOrderId) replyToMessageId = post.fnMessageId;
  }
  return queueMessagePost(deps, ctx, {
    connectionId: d.connectionId,
    what,
    messageId: d.sfId,
    parentId: r.ParentId,
    workOrderId: correlation.workOrderId,
    body: body.slice(0, 20_000),
    authorName: r.CreatedBy?.Name ?? undefined,
    replyToMessageId,
  });
}
