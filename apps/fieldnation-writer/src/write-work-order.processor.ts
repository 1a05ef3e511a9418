import { DelayedError, type Job } from 'bullmq';
import { fromCarriedStages, type fnWriteQueue, type JobDataOf, type QueueLike, type sfWriteQueue } from '@broker/contracts';
import type { ObjectConfig } from '@broker/config';
import { minimalUpdate } from '@broker/mapping';
import {
  permanentError,
  queueSyncFeedback,
  startedBefore,
  withFeedback,
  type JobContext,
  type RecordLocks,
  type StageRow,
} from '@broker/runtime';
import type { Correlation, Store } from '@broker/store';
import { FieldNationError, FN_STATUS, type FieldNationClient, type WorkOrderKey } from '@broker/fieldnation';

/** What the writer calls on Field Nation. */
export type WriterClient = Pick<
  FieldNationClient,
  | 'findRecentWorkOrders'
  | 'createWorkOrder'
  | 'updateWorkOrder'
  | 'getWorkOrder'
  | 'routeWorkOrder'
  | 'publishWorkOrder'
  | 'listMessages'
  | 'postMessage'
  | 'cancelWorkOrder'
>;

export interface WriterDeps {
  clients: ReadonlyMap<string, WriterClient>;
  store: Pick<Store, 'claimCorrelation' | 'updateCorrelation' | 'getCorrelation' | 'claimMessageLink' | 'completeMessageLink' | 'hasStage'>;
  sfWriteQueue: QueueLike<typeof sfWriteQueue>;
  locks: RecordLocks;
}

type WriteJob = Job<JobDataOf<typeof fnWriteQueue, 'write-work-order'>, unknown, 'write-work-order'>;

/** Map a Field Nation failure to BullMQ semantics: 429 waits, 5xx/network retries, 4xx fails for good. */
export async function rethrowFieldNation(err: unknown, ctx: JobContext): Promise<never> {
  const f = err instanceof FieldNationError ? err : undefined;
  if (f?.status === 429) return await ctx.delay(Math.max(f.retryAfterMs ?? 1_000, 250));
  if (f && !f.retryable)
    throw withFeedback(
      permanentError(`Field Nation rejected the request (${f.status ?? '?'}): ${f.message}`, 0, `fieldnation-${f.status ?? 'error'}`),
      f.validationMessages.length ? `Field Nation refused it (${f.status}): ${f.validationMessages.join('; ')}` : f.message,
    );
  throw err;
}

function correlationField(objectConfig: ObjectConfig, sfId: string): { payload: Record<string, unknown>; key: WorkOrderKey } {
  const c = objectConfig.correlation;
  if ('customFieldId' in c) {
    return {
      payload: { custom_fields: [{ id: c.customFieldId, value: sfId }] },
      key: { customField: { id: c.customFieldId, value: sfId } },
    };
  }
  return { payload: { incident_id: sfId }, key: { incidentId: sfId } };
}

/** A create sent without a definite answer; `cause` is the client's error (timeout, cut connection, 5xx). */
export class AmbiguousCreateError extends Error {
  constructor(cause: unknown) {
    super(`create without a definite answer (${(cause as Error)?.message ?? String(cause)}): it is looked up before any second create`, {
      cause,
    });
    this.name = 'AmbiguousCreateError';
  }
}

/** How often a job waiting for an ambiguous create to settle looks again (a quarter of the settle time, 1 s to 30 s). */
const settlePollMs = (settleMs: number) => Math.min(30_000, Math.max(1_000, Math.floor(settleMs / 4)));

/**
 * After a create without a definite answer: the work order it may have made, if Field Nation has it.
 * Returns its id; or, while a lookup could still miss it (less than `createSettleSeconds` since the
 * create), the time to look again. A lookup that cannot read the whole window fails the job for an
 * operator rather than risk a second paid work order.
 */
async function settleAmbiguousCreate(
  client: WriterClient,
  key: WorkOrderKey,
  since: Date,
  settleMs: number,
): Promise<
  { workOrderId: number; others: number[]; pages: number } | { waitUntil: number; pages: number } | { nothing: true; pages: number }
> {
  // Only a lookup that starts after the settle time can rule the first create out.
  const lookupStartedAt = Date.now();
  const result = await client.findRecentWorkOrders({ key, createdSince: since });
  const [first, ...others] = result.found;
  if (first) return { workOrderId: Number(first.id), others: others.map((w) => Number(w.id)), pages: result.pagesRead };
  if (!result.complete) {
    throw permanentError(
      `a create sent at ${since.toISOString()} may have made a work order, and more work orders were created since than one lookup reads (${result.pagesRead} pages): check Field Nation for this record before sending it again`,
      0,
      'fieldnation-ambiguous-create',
    );
  }
  const settledAt = since.getTime() + settleMs;
  if (lookupStartedAt < settledAt) return { waitUntil: Math.min(settledAt, Date.now() + settlePollMs(settleMs)), pages: result.pagesRead };
  return { nothing: true, pages: result.pagesRead };
}

/** Merge the correlation custom field into the mapped payload's custom fields (two-level or flat). */
function withCorrelation(payload: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  if (!extra.custom_fields) return { ...payload, ...extra };
  const mine = extra.custom_fields as { id: number; value: string }[];
  const existing = payload.custom_fields as { results?: unknown[] } | unknown[] | undefined;
  if (Array.isArray(existing)) return { ...payload, custom_fields: [...existing, ...mine] };
  if (existing && Array.isArray(existing.results)) {
    return { ...payload, custom_fields: { ...existing, results: [...existing.results, { results: mine }] } };
  }
  // Field Nation takes custom fields only in its two-level shape (a flat list is a 422).
  return { ...payload, custom_fields: { results: [{ results: mine }] } };
}

/**
 * The mapper's rows this job carries wait to go with its first statement (the claim), or, on a way out
 * before it, to be written by the worker as the job ends. A job that started before may have written
 * them already: it looks first (one read, on that rare path only), so they are written once.
 */
async function carryMappedRows(job: WriteJob, deps: WriterDeps, ctx: JobContext): Promise<void> {
  const rows = fromCarriedStages(job.data.stages);
  const first = rows[0];
  if (!first) return;
  if (
    startedBefore(job) &&
    (await deps.store.hasStage({
      connectionId: first.connectionId,
      sfId: first.sfId ?? job.data.sfId,
      stage: first.stage,
      jobId: first.jobId ?? '',
      outcome: first.outcome,
      message: first.message,
    }))
  )
    return;
  ctx.carryStages(rows);
}

/**
 * Make the work order match the record's mapped state, exactly once. The correlation row is claimed
 * before anything is created, and marks every create in flight (`ambiguousCreateAt`) until its
 * outcome is known; the Salesforce id travels on the work order, so a create whose answer was lost
 * (timeout, cut connection, 5xx, crash) is recovered by looking it up, and a second one is sent only
 * once a lookup made after the settle time (`createSettleSeconds`) still finds nothing.
 */
export async function writeWorkOrder(job: WriteJob, deps: WriterDeps, ctx: JobContext): Promise<string> {
  const d = job.data;
  // Busy: the job runs again later, and its carried rows wait for that run (which looks for them first).
  const release = await deps.locks.tryLock('fnw', d.connectionId, d.sfId);
  if (!release) return await ctx.delay(100 + Math.floor(Math.random() * 200));
  try {
    await carryMappedRows(job, deps, ctx);
    const connection = ctx.connection();
    const client = ctx.connection(deps.clients);
    const objectConfig = connection.objects[d.sfObject];
    if (!objectConfig) throw permanentError(`object ${d.sfObject} is not configured`, 0, 'config');

    // A row this claim inserts is marked as a create about to be sent (the mark `save` would write before it).
    const { correlation: claimed, created: fresh } = await deps.store.claimCorrelation(
      { connectionId: d.connectionId, sfObject: d.sfObject, sfId: d.sfId, ambiguousCreateAt: new Date() },
      ctx.takeStages(),
    );
    let correlation: Correlation = claimed;
    const modstamp = new Date(d.sfModstamp);
    if (correlation.lastSfModstamp && modstamp <= correlation.lastSfModstamp) {
      await ctx.stage('written', 'skipped', {
        workOrderId: correlation.workOrderId,
        message: 'a newer state of the record was already written',
      });
      return 'stale';
    }

    if (correlation.state === 'cancelled') {
      await ctx.stage('written', 'skipped', {
        workOrderId: correlation.workOrderId,
        message: `work order ${correlation.workOrderId} was cancelled: the record's changes are not sent`,
      });
      return 'cancelled';
    }

    const save = async (changes: Parameters<Store['updateCorrelation']>[2], stages?: StageRow[]): Promise<Correlation> => {
      // We hold the record lock, so a version conflict can only come from a lock that expired: re-read once.
      const updated = await deps.store.updateCorrelation(correlation.id, correlation.version, changes, stages);
      if (updated) return updated;
      const current = await deps.store.getCorrelation({ connectionId: d.connectionId, sfId: d.sfId });
      if (!current) throw new Error('correlation vanished');
      const again = await deps.store.updateCorrelation(current.id, current.version, changes, stages);
      if (!again) throw new Error('correlation changed concurrently; retrying');
      return again;
    };

    const extra = correlationField(objectConfig, d.sfId);
    const settleMs = connection.fieldnation.createSettleSeconds * 1000;
    let action: 'created' | 'recovered' | 'updated' | 'unchanged';
    let fnCalls = 0;
    let note = '';
    // The work order id learnt from Field Nation, stored with the final save (one statement fewer per
    // create). Until then the row keeps its create mark: a crash in between is recovered by lookup.
    let unsaved: Parameters<Store['updateCorrelation']>[2] | undefined;
    try {
      if (correlation.workOrderId == null) {
        let workOrderId: number | undefined;
        // An earlier create had no definite answer (or the process died during it): it may have made
        // the work order, possibly only later. Find it, or wait until a lookup can rule it out.
        if (correlation.ambiguousCreateAt && !fresh) {
          const settled = await settleAmbiguousCreate(client, extra.key, correlation.ambiguousCreateAt, settleMs);
          fnCalls += settled.pages;
          if ('waitUntil' in settled) {
            await ctx.stage('written', 'retry', {
              message: `an earlier create had no answer and is not visible yet: looking again before creating (settles ${new Date(correlation.ambiguousCreateAt.getTime() + settleMs).toISOString()})`,
              detail: { fieldNationCalls: fnCalls },
            });
            return await ctx.delay(settled.waitUntil - Date.now());
          }
          if ('workOrderId' in settled) {
            workOrderId = settled.workOrderId;
            if (settled.others.length)
              note = ` (Field Nation also holds ${settled.others.join(', ')} for this record: duplicates to cancel)`;
          }
        }
        action = workOrderId ? 'recovered' : 'created';
        if (!workOrderId) {
          // Written before sending (by the claim on a new row): if the process dies during the call, the retry knows to look first.
          if (!fresh) correlation = await save({ ambiguousCreateAt: new Date() });
          fnCalls++;
          try {
            workOrderId = Number((await client.createWorkOrder(withCorrelation(d.payload, extra.payload))).id);
          } catch (err) {
            if (err instanceof FieldNationError && !err.ambiguous) {
              correlation = await save({ ambiguousCreateAt: null }); // a definite no: nothing was created
              throw err;
            }
            // Settling counts from when we stopped waiting: Field Nation may still be working on it.
            // The attempt is spent (a create that never answers must not loop for ever); the next
            // one looks before doing anything.
            correlation = await save({ ambiguousCreateAt: new Date() });
            throw new AmbiguousCreateError(err);
          }
        }
        unsaved = { workOrderId, state: 'created', ambiguousCreateAt: null };
        correlation = { ...correlation, workOrderId, state: 'created', ambiguousCreateAt: null };
      } else {
        const diff = minimalUpdate((correlation.lastPayload ?? undefined) as Record<string, unknown> | undefined, d.payload, d.createOnly);
        action = diff ? 'updated' : 'unchanged';
        if (diff) {
          fnCalls++;
          await client.updateWorkOrder(correlation.workOrderId, diff);
        }
      }
      // After-create steps run until the row says 'synced', so a crash between them is resumed.
      if (correlation.state === 'created' || correlation.state === 'claimed') {
        // Resuming after a crash or a lost answer: the step may have happened already, and Field
        // Nation refuses to publish or route twice. Look before acting (only on this rare path).
        let alreadyDone = false;
        if (action !== 'created' && (objectConfig.afterCreate.route || objectConfig.afterCreate.publish)) {
          fnCalls++;
          const wo = await client.getWorkOrder(correlation.workOrderId!);
          alreadyDone = wo.status?.id !== FN_STATUS.DRAFT;
        }
        if (alreadyDone) {
          // nothing to do
        } else if (objectConfig.afterCreate.route) {
          fnCalls++;
          await client.routeWorkOrder(correlation.workOrderId!, objectConfig.afterCreate.route);
        } else if (objectConfig.afterCreate.publish) {
          fnCalls++;
          await client.publishWorkOrder(correlation.workOrderId!);
        }
      }
    } catch (err) {
      if (err instanceof DelayedError) throw err;
      // A step after the create failed: the retry resumes from the stored work order id, no lookup.
      if (unsaved) {
        const changes = unsaved;
        unsaved = undefined;
        correlation = await save(changes).catch((e: unknown) => {
          ctx.log.warn({ err: e }, 'could not store the work order id before retrying; the retry looks it up');
          return correlation;
        });
      }
      // A job waiting out an outage or a 429 runs again (up to once a minute) and meets the same error:
      // its row is written once; the wait itself goes on the timeline when it ends.
      const message = (err as Error).message;
      const rerun = job.attemptsStarted > job.attemptsMade + 1;
      if (
        !rerun ||
        !(await deps.store.hasStage({
          connectionId: d.connectionId,
          sfId: d.sfId,
          stage: 'written',
          outcome: 'retry',
          jobId: job.id!,
          message,
        }))
      ) {
        await ctx.stage('written', 'retry', { workOrderId: correlation.workOrderId, message });
      }
      return await rethrowFieldNation(err, ctx);
    }

    // Every sync of a record state ends in a synced outcome on the record (work order id, time, no
    // message, checkbox reset), queued before the row says 'synced': a crash in between queues it
    // again on the retry (same job id: one per record state), where queuing it after could lose it.
    await queueSyncFeedback(
      deps.sfWriteQueue,
      { connection, sfObject: d.sfObject, sfId: d.sfId },
      { status: 'synced', workOrderId: correlation.workOrderId! },
      `ok${modstamp.getTime()}`,
    );
    // The row says synced and the timeline says written in one statement.
    correlation = await save(
      {
        ...unsaved,
        state: 'synced',
        lastSfModstamp: modstamp,
        lastPayload: d.payload as object,
        lastPayloadHash: d.payloadHash,
        lastError: null,
      },
      ctx.takeStages('written', action === 'unchanged' ? 'skipped' : 'ok', {
        workOrderId: correlation.workOrderId,
        message: `work order ${correlation.workOrderId} ${action}${note}`,
        detail: { fieldNationCalls: fnCalls },
      }),
    );
    return action;
  } finally {
    await release();
  }
}
