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
 * Post a Salesforce user's CaseComment as a work-order message, once. The message link is claimed
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
    messageId ??= await client.postMessage(d.workOrderId, { message: text, type: ctx.connection().fieldnation.messageType });
  } catch (err) {
    return await rethrowFieldNation(err, ctx);
  }
  await deps.store.completeMessageLink(link.id, { fnMessageId: messageId });
  await ctx.stage('message', 'ok', { message: `comment ${d.caseCommentId} posted as message ${messageId}` });
  return 'posted';
}
