import type { Job } from 'bullmq';
import type { fnWriteQueue, JobDataOf } from '@broker/contracts';
import { FN_STATUS, FN_STATUS_NAMES, fnStatusCode, type FnStatusId } from '@broker/contracts/fieldnation';
import { permanentError, queueSyncFeedback, type JobContext } from '@broker/runtime';
import { FieldNationError } from '@broker/fieldnation';
import { rethrowFieldNation, type WriterDeps } from './write-work-order.processor';

type CancelJob = Job<JobDataOf<typeof fnWriteQueue, 'cancel-work-order'>, unknown, 'cancel-work-order'>;

const statusName = (id: number | undefined) =>
  id !== undefined && id in FN_STATUS_NAMES ? FN_STATUS_NAMES[id as FnStatusId] : `status ${id}`;

/**
 * Cancel the record's work order (its cancel condition holds), once. Under the record's write lock:
 * the work order's status is read first (one Field Nation call), so a retry after a crash or a lost
 * answer finds it cancelled and does not send a second DELETE, and a status Field Nation does not let
 * a buyer cancel in (or the object's allowedStatuses leave out) becomes a failed outcome saying why.
 * Once cancelled, the correlation says so: later changes of the record are not sent.
 */
export async function cancelWorkOrder(job: CancelJob, deps: WriterDeps, ctx: JobContext): Promise<string> {
  const d = job.data;
  const connection = ctx.connection();
  const client = ctx.connection(deps.clients);
  const cancel = connection.objects[d.sfObject]?.cancel;
  if (!cancel) throw permanentError(`object ${d.sfObject} has no cancel settings`, 0, 'config');
  const target = { connection, sfObject: d.sfObject, sfId: d.sfId };

  const release = await deps.locks.tryLock('fnw', d.connectionId, d.sfId);
  if (!release) return await ctx.delay(100 + Math.floor(Math.random() * 200));
  try {
    const correlation = await deps.store.getCorrelation({ connectionId: d.connectionId, sfId: d.sfId });
    if (!correlation || correlation.workOrderId !== d.workOrderId) {
      await ctx.stage('written', 'skipped', {
        workOrderId: d.workOrderId,
        message: `cancel: the record's work order is ${correlation?.workOrderId ?? 'none'}, not ${d.workOrderId}`,
      });
      return 'not-this-work-order';
    }
    if (correlation.state === 'cancelled') {
      await ctx.stage('written', 'skipped', { workOrderId: d.workOrderId, message: `work order ${d.workOrderId} is already cancelled` });
      return 'already-cancelled';
    }

    let fnCalls = 0;
    const done = async (how: string) => {
      // The outcome is queued before the row says 'cancelled' (same job id on a retry).
      await queueSyncFeedback(deps.sfWriteQueue, target, { status: 'cancelled', workOrderId: d.workOrderId }, `cx${d.workOrderId}`);
      const updated = await deps.store.updateCorrelation(correlation.id, correlation.version, { state: 'cancelled', lastError: null });
      if (!updated) throw new Error('correlation changed concurrently; retrying');
      await ctx.stage('written', 'ok', {
        workOrderId: d.workOrderId,
        message: `work order ${d.workOrderId} ${how}`,
        detail: { fieldNationCalls: fnCalls, cancelReason: d.reason },
      });
      return 'cancelled';
    };
    const refuse = async (reason: string) => {
      await queueSyncFeedback(deps.sfWriteQueue, target, { status: 'failed', reason, workOrderId: d.workOrderId }, `f${Date.now()}`);
      await ctx.stage('written', 'failed', { workOrderId: d.workOrderId, message: reason, detail: { fieldNationCalls: fnCalls } });
      return 'refused';
    };

    try {
      fnCalls++;
      const wo = await client.getWorkOrder(d.workOrderId);
      const status = wo.status?.id as number | undefined;
      if (status === FN_STATUS.CANCELLED) return await done('was already cancelled on Field Nation');
      const code = status !== undefined && status in FN_STATUS_NAMES ? fnStatusCode(status as FnStatusId) : undefined;
      if (!code || !(cancel.allowedStatuses as readonly string[]).includes(code)) {
        return await refuse(
          `Not cancelled: work order ${d.workOrderId} is ${statusName(status)}` +
            (status === FN_STATUS.PAID
              ? ', and Field Nation cancels only before payment'
              : '; cancelling is allowed when it is ' + cancel.allowedStatuses.join(', ')),
        );
      }
      fnCalls++;
      try {
        await client.cancelWorkOrder(d.workOrderId, { reason: d.reason });
      } catch (err) {
        if (!(err instanceof FieldNationError) || err.retryable) throw err;
        // Refused: perhaps because an earlier DELETE (whose answer was lost) did cancel it.
        fnCalls++;
        const now = await client.getWorkOrder(d.workOrderId);
        if (now.status?.id === FN_STATUS.CANCELLED) return await done('cancelled');
        return await refuse(`Not cancelled: Field Nation refused (${err.status}): ${err.validationMessages.join('; ') || err.message}`);
      }
      return await done(`cancelled (reason ${d.reason})`);
    } catch (err) {
      if ((err as Error).name === 'DelayedError') throw err;
      await ctx.stage('written', 'retry', { workOrderId: d.workOrderId, message: `cancel: ${(err as Error).message}` });
      return await rethrowFieldNation(err, ctx);
    }
  } finally {
    await release();
  }
}
