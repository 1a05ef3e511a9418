// The outcome of a sync attempt, written onto the Salesforce record (issue 15): synced with the work
// order id and time, failed with a short reason, or cancelled. Every producer (fetcher, mapper,
// fieldnation-writer, and the failure hook of their workers) builds the sf.write job here, so the
// fields and their meaning are the same whoever decided the outcome.
import type { Job } from 'bullmq';
import { enqueue, sfWriteJobId, type QueueLike, type sfWriteQueue } from '@broker/contracts';
import type { ConnectionConfig, WriteBackConfig } from '@broker/config';

export type SyncOutcome =
  | { status: 'synced'; workOrderId: number }
  | { status: 'failed'; reason: string; workOrderId?: number | null }
  | { status: 'cancelled'; workOrderId: number; reason?: string };

type FieldValue = string | boolean | null;

/** Cut a reason to a field's length on a word boundary where one is near, with an ellipsis. */
export function boundedReason(reason: string, max: number): string {
  const text = reason.replace(/\s+/g, ' ').trim();
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${space > max * 0.7 ? cut.slice(0, space) : cut}…`;
}

/**
 * The fields an outcome writes, per the object's writeBack (every key optional). Synced clears the
 * message, stamps the time and resets the trigger checkbox; a failure leaves the work order id, the
 * last sync time and the checkbox as they are (a fix then a save sends the record again, since it
 * still matches its trigger). Empty when nothing is configured to receive it.
 */
export function syncFeedbackFields(wb: WriteBackConfig | undefined, outcome: SyncOutcome, at: Date): Record<string, FieldValue> {
  const fields: Record<string, FieldValue> = {};
  if (!wb) return fields;
  const message = (text: string | null) => {
    if (wb.syncMessageField) fields[wb.syncMessageField] = text === null ? null : boundedReason(text, wb.syncMessageMaxLength);
  };
  if (wb.syncStatusField) fields[wb.syncStatusField] = wb.statusValues[outcome.status];
  if (outcome.status === 'failed') {
    message(outcome.reason);
    return fields;
  }
  if (wb.workOrderIdField) fields[wb.workOrderIdField] = String(outcome.workOrderId);
  if (outcome.status === 'cancelled') {
    message(outcome.reason ? `Work order ${outcome.workOrderId} cancelled: ${outcome.reason}` : null);
    return fields;
  }
  message(null);
  if (wb.syncedAtField) fields[wb.syncedAtField] = at.toISOString();
  if (wb.resetCheckbox) fields[wb.resetCheckbox] = false;
  return fields;
}

export interface FeedbackTarget {
  connection: ConnectionConfig;
  sfObject: string;
  sfId: string;
}

/**
 * Queue the outcome for the salesforce-writer (one composite call). `key` makes the job id: the same
 * key twice adds nothing (sfWriteJobId.feedback). Returns false when the object has nowhere to write it.
 */
export async function queueSyncFeedback(
  queue: QueueLike<typeof sfWriteQueue>,
  target: FeedbackTarget,
  outcome: SyncOutcome,
  key: string,
  at = new Date(),
): Promise<boolean> {
  const wb = target.connection.objects[target.sfObject]?.writeBack;
  const fields = syncFeedbackFields(wb, outcome, at);
  if (Object.keys(fields).length === 0) return false;
  const workOrderId = outcome.workOrderId ?? undefined;
  const reason = outcome.status === 'synced' ? '' : (outcome.reason ?? '');
  await enqueue(
    queue,
    'write-record',
    {
      connectionId: target.connection.id,
      sfObject: target.sfObject,
      sfId: target.sfId,
      fields,
      outcome: {
        status: outcome.status,
        at: at.toISOString(),
        signature: `${outcome.status}|${workOrderId ?? ''}|${boundedReason(reason, 1_900)}`,
        // Synced stamps a new time and resets a checkbox someone may have ticked again: always written.
        rewrite: outcome.status === 'synced' && Boolean(wb?.syncedAtField || wb?.resetCheckbox),
      },
      cause: { kind: 'sync-feedback', id: key, ...(workOrderId ? { workOrderId } : {}) },
    },
    { jobId: sfWriteJobId.feedback(target.connection.id, target.sfId, key) },
  );
  return true;
}

/** A permanent error carrying the short reason the record shows (the message stays the full one). */
export function withFeedback<E extends Error>(err: E, reason: string): E & { feedback: string } {
  return Object.assign(err, { feedback: reason });
}

/** The reason a failed job shows on its record: the error's short `feedback`, else its message. */
export function feedbackReason(err: Error): string {
  const short = (err as { feedback?: unknown }).feedback;
  return typeof short === 'string' && short ? short : err.message;
}

/** The record a sync job is about, when it is one (post-message and event jobs are not). */
function syncRecordOf(job: Job): { connectionId: string; sfObject: string; sfId: string; workOrderId?: number } | undefined {
  const d = job.data as { connectionId?: unknown; sfObject?: unknown; sfId?: unknown; workOrderId?: unknown };
  if (typeof d?.connectionId !== 'string' || typeof d.sfObject !== 'string' || typeof d.sfId !== 'string') return undefined;
  if (d.sfObject === 'CaseComment') return undefined;
  return {
    connectionId: d.connectionId,
    sfObject: d.sfObject,
    sfId: d.sfId,
    workOrderId: typeof d.workOrderId === 'number' ? d.workOrderId : undefined,
  };
}

/**
 * The `finalFailure` hook of a worker whose jobs sync a record (fetch, map, write, cancel): the record
 * gets a failed outcome with the error's reason. It runs before the job is failed for good, so a crash
 * cannot lose it; `skip` names failures that say nothing about the record (a record that is gone).
 */
export function syncFailureFeedback(
  queue: QueueLike<typeof sfWriteQueue>,
  connections: ReadonlyMap<string, ConnectionConfig>,
  options: { jobs?: readonly string[]; skip?: (err: Error) => boolean } = {},
): (job: Job, err: Error) => Promise<void> {
  return async (job, err) => {
    if (options.jobs && !options.jobs.includes(job.name)) return;
    if (options.skip?.(err)) return;
    const record = syncRecordOf(job);
    const connection = record && connections.get(record.connectionId);
    if (!record || !connection) return;
    const at = new Date();
    await queueSyncFeedback(
      queue,
      { connection, sfObject: record.sfObject, sfId: record.sfId },
      { status: 'failed', reason: feedbackReason(err), workOrderId: record.workOrderId },
      // Each final failure of a job is its own outcome (a replayed job that fails again is a new one).
      `f${at.getTime()}-${job.id}`,
      at,
    );
  };
}
