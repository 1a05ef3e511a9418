import type { Job } from 'bullmq';
import type { fnWriteQueue, JobDataOf } from '@broker/contracts';
import type { JobContext } from '@broker/runtime';
import { rethrowFieldNation, type WriterDeps } from './write-work-order.processor';

type PostJob = Job<JobDataOf<typeof fnWriteQueue, 'post-message'>, unknown, 'post-message'>;

/** The text posted on the work order: the Salesforce author's name tells the technician who wrote. */
export function messageText(body: string, authorName?: string): string {
  return authorName ? `${authorName}: ${body}` : body;
}

/**
 * Post a Salesforce user's CaseComment or Chatter post as a work-order message (a Chatter reply as a
 * reply when its post is linked to a message), once. The message link is claimed
 * first; when a claim already exists without a message id (a crash after posting), the work order's
 * messages are searched before posting again.
 */
export async function postMessage(job: PostJob, deps: WriterDeps, ctx: JobContext): Promise<string> {
  const d = job.data;
  const client = ctx.connection(deps.clients);
  const text = messageText(d.body, d.authorName);

  const { link, created } = await deps.store.claimMessageLink({
    connectionId: d.connectionId,
    direction: 'sf_to_fn',
    workOrderId: d.workOrderId,
    caseCommentId: d.caseCommentId,
  });
  if (link.fnMessageId) return 'already-posted';

  let messageId: string | undefined;
  try {
    if (!created || job.attemptsMade > 0) {
      const existing = await client.listMessages(d.workOrderId);
      messageId = existing.flatMap((m) => [m, ...(m.replies ?? [])]).find((m) => m.message === text)?.msg_id;
    }
    // A Chatter reply to a post linked to a message is a reply in that message's thread (its audience).
    messageId ??= await client.postMessage(
      d.workOrderId,
      d.replyToMessageId
        ? { message: text, parentId: d.replyToMessageId }
        : { message: text, type: ctx.connection().fieldnation.messageType },
    );
  } catch (err) {
    return await rethrowFieldNation(err, ctx);
  }
  await deps.store.completeMessageLink(link.id, { fnMessageId: messageId });
  await ctx.stage('message', 'ok', {
    message: `${d.caseCommentId.startsWith('00a') ? 'comment' : 'Chatter'} ${d.caseCommentId} posted as ${d.replyToMessageId ? `reply to ${d.replyToMessageId}: ` : ''}message ${messageId}`,
  });
  return 'posted';
}
