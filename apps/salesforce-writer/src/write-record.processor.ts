import type { Job } from 'bullmq';
import type { JobDataOf, sfWriteQueue } from '@broker/contracts';
import { permanentError, type JobContext, type KeyValueStore, type RecordLocks } from '@broker/runtime';
import { ApiBudgetError, SalesforceApiError, type CompositeSubrequest, type SalesforceClient } from '@broker/salesforce/client';
import type { Store } from '@broker/store';
import { findOwnMessage, messageRequest } from './message-target';

/** What the writer calls on Salesforce. */
export type SfWriterClient = Pick<SalesforceClient, 'query' | 'awaitBudget' | 'composite' | 'userId'>;

export interface SfWriterDeps {
  clients: ReadonlyMap<string, SfWriterClient>;
  store: Pick<Store, 'wasInboundProcessed' | 'markInboundProcessed' | 'claimMessageLink' | 'completeMessageLink'>;
  locks: RecordLocks;
  /** Status order and attempt markers (the worker connection). */
  redis: KeyValueStore;
  prefix: string;
}

type WriteJob = Job<JobDataOf<typeof sfWriteQueue, 'write-record'>, unknown, 'write-record'>;

const RETRYABLE = new Set(['UNABLE_TO_LOCK_ROW', 'SERVER_UNAVAILABLE', 'REQUEST_LIMIT_EXCEEDED']);
/** What Salesforce answers for a record id that is deleted or was never there (or not visible). */
const RECORD_GONE = new Set(['ENTITY_IS_DELETED', 'NOT_FOUND', 'INVALID_CROSS_REFERENCE_KEY', 'MALFORMED_ID']);

/** The first real error of a composite answer (allOrNone marks the others PROCESSING_HALTED). */
function compositeError(
  results: { httpStatusCode: number; body: unknown; referenceId: string }[],
): { code: string; message: string; referenceId: string } | undefined {
  const failed = results.filter((r) => r.httpStatusCode >= 400);
  const errors = failed.flatMap((r) =>
    (Array.isArray(r.body) ? (r.body as { errorCode?: string; message?: string }[]) : []).map((e) => ({
      code: e.errorCode ?? 'UNKNOWN',
      message: e.message ?? '',
      referenceId: r.referenceId,
    })),
  );
  return (
    errors.find((e) => e.code !== 'PROCESSING_HALTED') ??
    errors[0] ??
    (failed[0] ? { code: `HTTP_${failed[0].httpStatusCode}`, message: 'request failed', referenceId: failed[0].referenceId } : undefined)
  );
}

/**
 * Apply everything one cause (a Field Nation event, a message, a write-back) changes on a Salesforce
 * record in one composite request: one API call. Validation-rule failures are permanent and land on
 * the timeline with the rule's message; lock contention and 5xx retry with backoff.
 */
export async function writeRecord(job: WriteJob, deps: SfWriterDeps, ctx: JobContext): Promise<string> {
  const d = job.data;
  const connection = ctx.connection();
  const client = ctx.connection(deps.clients);
  const stage = (outcome: 'ok' | 'skipped' | 'retry', message: string, sfApiCalls = 0) =>
    ctx.stage('sf-written', outcome, { message, sfApiCalls });

  const release = await deps.locks.tryLock('sfw', d.connectionId, d.sfId);
  if (!release) return await ctx.delay(100 + Math.floor(Math.random() * 200));
  try {
    if (await deps.store.wasInboundProcessed(d.connectionId, 'sf', `write-${job.id}`)) return 'already-applied';

    const fields = { ...d.fields };
    const statusKey = `${deps.prefix}:sfstatus:${d.connectionId}:${d.sfId}`;
    if (d.statusOrder) {
      const last = await deps.redis.get(statusKey);
      if (last) {
        const [at, rank] = last.split('|');
        const lastAt = Date.parse(at!);
        const mine = Date.parse(d.statusOrder.at);
        if (mine < lastAt || (mine === lastAt && d.statusOrder.rank < Number(rank))) {
          for (const f of d.statusOrder.fields) delete fields[f];
        }
      }
    }

    // A sync outcome older than the one on the record, or the one it already shows, is not written
    // (feedback jobs of one record can run out of order; a repeated outcome would cost a call each
    // time, and a loop if someone's automation sent the record back on our write).
    const outcomeKey = `${deps.prefix}:sfoutcome:${d.connectionId}:${d.sfId}`;
    if (d.outcome) {
      const last = await deps.redis.get(outcomeKey);
      const sep = last?.indexOf('|') ?? -1;
      const lastAt = last && sep > 0 ? Date.parse(last.slice(0, sep)) : NaN;
      const why =
        Date.parse(d.outcome.at) < lastAt
          ? `a newer sync outcome is already on the record (${last!.slice(0, sep)})`
          : !d.outcome.rewrite && last?.slice(sep + 1) === d.outcome.signature
            ? `the record already shows this outcome (${d.outcome.status})`
            : undefined;
      if (why) {
        // The record shows this outcome as of now: an older one arriving later must not replace it.
        if (!(Date.parse(d.outcome.at) < lastAt))
          await deps.redis.set(outcomeKey, `${d.outcome.at}|${d.outcome.signature}`, 'EX', 90 * 24 * 3600);
        for (const f of Object.keys(d.fields)) delete fields[f];
        if (!d.comment) {
          await stage('skipped', why);
          return 'outcome-unchanged';
        }
      }
    }

    let comment = d.comment;
    let link: { id: bigint } | undefined;
    let searchCalls = 0;
    // Whether an earlier attempt may have died after Salesforce saved the comment: its message link
    // was claimed already, or (an event's comment) the attempt marker below was set.
    let maybeWritten = false;
    let since = new Date(job.timestamp);
    const attemptKey = `${deps.prefix}:sfw-attempt:${job.id}`;
    if (comment?.fnMessageId && d.cause.workOrderId) {
      const claimed = await deps.store.claimMessageLink({
        connectionId: d.connectionId,
        direction: 'fn_to_sf',
        workOrderId: d.cause.workOrderId,
        fnMessageId: comment.fnMessageId,
      });
      if (claimed.link.caseCommentId) comment = undefined;
      else link = claimed.link;
      maybeWritten = !claimed.created;
      since = claimed.link.createdAt;
    } else if (comment) {
      maybeWritten = (await deps.redis.exists(attemptKey)) === 1;
    }
    if (comment && maybeWritten) {
      // Look for it (one query, only on this path) rather than post it twice.
      searchCalls = 1;
      const existing = await findOwnMessage(client, d.sfId, comment, since, connection.salesforce.integrationUserId ?? client.userId);
      if (existing) {
        if (link) await deps.store.completeMessageLink(link.id, { caseCommentId: existing });
        comment = undefined;
        link = undefined;
      }
    }

    const requests: CompositeSubrequest[] = [];
    const base = `/services/data/v${connection.salesforce.apiVersion}/sobjects`;
    if (Object.keys(fields).length)
      requests.push({ method: 'PATCH', url: `${base}/${d.sfObject}/${d.sfId}`, referenceId: 'record', body: fields });
    if (comment) requests.push(messageRequest(base, d.sfId, comment));
    if (requests.length === 0) {
      await stage('skipped', 'nothing left to write (older status, or comment already written)', searchCalls);
      return 'nothing';
    }

    try {
      await client.awaitBudget();
    } catch (err) {
      if (err instanceof ApiBudgetError) return await ctx.delay(err.retryAfterMs);
      throw err;
    }

    if (comment && !link) await deps.redis.set(attemptKey, '1', 'EX', 7 * 24 * 3600);
    let results;
    try {
      results = await client.composite(requests, true);
    } catch (err) {
      const e = err instanceof SalesforceApiError ? err : undefined;
      if (e && !e.retryable) throw permanentError(`${e.errorCode}: ${e.message}`, 1 + searchCalls, e.errorCode);
      await stage('retry', `${e?.errorCode ?? 'ERROR'}: ${(err as Error).message}`, 1 + searchCalls);
      throw err;
    }
    const failure = compositeError(results);
    if (failure) {
      const text = `${failure.code}: ${failure.message}`;
      if (RETRYABLE.has(failure.code) || /^HTTP_5/.test(failure.code)) {
        await stage('retry', text, 1 + searchCalls);
        throw new SalesforceApiError(text, failure.code, undefined, true);
      }
      if (d.cause.kind === 'sync-feedback' && RECORD_GONE.has(failure.code)) {
        // A failed outcome for a notification about a record that is gone (deleted, never visible).
        await stage('skipped', `the record is gone, its sync outcome is not written (${text})`, 1 + searchCalls);
        return 'record-gone';
      }
      throw permanentError(text, 1 + searchCalls, failure.code);
    }

    if (d.outcome) await deps.redis.set(outcomeKey, `${d.outcome.at}|${d.outcome.signature}`, 'EX', 90 * 24 * 3600);
    if (d.statusOrder) await deps.redis.set(statusKey, `${d.statusOrder.at}|${d.statusOrder.rank}`, 'EX', 90 * 24 * 3600);
    const commentId = (results.find((r) => r.referenceId === 'comment')?.body as { id?: string } | undefined)?.id;
    if (link && commentId) await deps.store.completeMessageLink(link.id, { caseCommentId: commentId });
    await deps.store.markInboundProcessed({ connectionId: d.connectionId, source: 'sf', notificationId: `write-${job.id}`, sfId: d.sfId });
    await stage(
      'ok',
      [Object.keys(fields).length ? `fields ${Object.keys(fields).join(', ')}` : '', commentId ? `comment ${commentId}` : '']
        .filter(Boolean)
        .join(' + '),
      1 + searchCalls,
    );
    return 'written';
  } finally {
    await release();
  }
}
