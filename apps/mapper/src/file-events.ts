import type { Job } from 'bullmq';
import { enqueue, fileJobId, type fnEventQueue, type JobDataOf, type QueueLike, type sfFileQueue } from '@broker/contracts';
import type { JobContext } from '@broker/runtime';
import type { Store } from '@broker/store';

/**
 * Events after which a work order may hold attachments Salesforce does not have: a provider upload,
 * and the completion (deliverables uploaded before it, and uploads whose event was lost).
 */
export const FILE_EVENTS: ReadonlySet<string> = new Set(['workorder.provider_upload', 'workorder.status.work_done']);

export interface FileEventDeps {
  store: Pick<Store, 'findCorrelationByWorkOrder'>;
  sfFileQueue?: QueueLike<typeof sfFileQueue>;
}

type EventJob = Job<JobDataOf<typeof fnEventQueue, 'fn-event'>, unknown, 'fn-event'>;

/**
 * Queue the copy of the work order's new attachments to Salesforce Files (salesforce-writer), when the
 * connection has `files.toSalesforce` and the work order is the broker's. The job carries ids only:
 * which attachments are new is decided by the writer from the work order's listing and `file_link`
 * (the event's params are not documented). One job per delivery: a redelivery adds nothing.
 */
export async function queueAttachmentCopy(job: EventJob, deps: FileEventDeps, ctx: JobContext): Promise<boolean> {
  const d = job.data;
  if (!deps.sfFileQueue || !FILE_EVENTS.has(d.eventName) || !ctx.connection().files.toSalesforce) return false;
  const correlation = await deps.store.findCorrelationByWorkOrder(d.connectionId, d.workOrderId);
  if (!correlation) return false;
  await enqueue(
    deps.sfFileQueue,
    'copy-attachments',
    {
      connectionId: d.connectionId,
      sfObject: correlation.sfObject,
      sfId: correlation.sfId,
      workOrderId: d.workOrderId,
      cause: { eventName: d.eventName, deliveryId: d.deliveryId },
    },
    { jobId: fileJobId.toSalesforce(d.connectionId, d.deliveryId) },
  );
  return true;
}
