import type { Job } from 'bullmq';
import { enqueue, fnWriteJobId, type JobDataOf, type mapQueue } from '@broker/contracts';
import type { CancelConfig, ConnectionConfig } from '@broker/config';
import { queueSyncFeedback, type JobContext } from '@broker/runtime';
import type { CorrelationView, MapDeps } from './map-record.processor';

type MapJob = Job<JobDataOf<typeof mapQueue, 'map-record'>, unknown, 'map-record'>;

/** Field Nation's cancel reason for a record: its reasonField's value through `reasons`, else the default. */
export function cancelReasonFor(cancel: CancelConfig, record: Record<string, unknown>): string | number {
  if (!cancel.reasonField || !cancel.reasons) return cancel.reason;
  const value = record[cancel.reasonField];
  if (value === null || value === undefined) return cancel.reason;
  return cancel.reasons[String(value)] ?? cancel.reason;
}

/**
 * The record matched its cancel condition: queue the cancel of its work order (the fieldnation-writer
 * checks the status and cancels once), or, with no work order, tell the record nothing was created.
 */
export async function requestCancel(
  job: MapJob,
  deps: Pick<MapDeps, 'fnWriteQueue' | 'sfWriteQueue'>,
  connection: ConnectionConfig,
  correlation: CorrelationView | null,
  modstamp: string,
  ctx: JobContext,
): Promise<string> {
  const d = job.data;
  const cancel = connection.objects[d.sfObject]?.cancel;
  if (!cancel) {
    await ctx.stage('mapped', 'skipped', { message: 'cancel requested, but the object has no cancel settings any more' });
    return 'no-cancel-settings';
  }
  if (!correlation?.workOrderId) {
    const reason = 'Cancel requested, but there is no work order to cancel: none was created';
    // One outcome per record state: a redelivered map job adds nothing.
    await queueSyncFeedback(
      deps.sfWriteQueue,
      { connection, sfObject: d.sfObject, sfId: d.sfId },
      { status: 'failed', reason },
      `nocx${Date.parse(modstamp)}`,
    );
    await ctx.stage('mapped', 'skipped', { message: reason });
    return 'cancel-without-work-order';
  }
  const reason = cancelReasonFor(cancel, d.record);
  await enqueue(
    deps.fnWriteQueue,
    'cancel-work-order',
    {
      connectionId: d.connectionId,
      sfObject: d.sfObject,
      sfId: d.sfId,
      notificationId: d.notificationId,
      workOrderId: correlation.workOrderId,
      reason,
    },
    { jobId: fnWriteJobId.cancel(d.connectionId, d.sfId, correlation.workOrderId, Date.parse(modstamp)) },
  );
  await ctx.stage('mapped', 'ok', {
    workOrderId: correlation.workOrderId,
    message: `cancel of work order ${correlation.workOrderId} requested (reason ${reason})`,
  });
  return 'cancel';
}
