import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { enqueue, mapJobId, type JobDataOf, type mapQueue, type QueueLike, type sfFetchQueue, type sfWriteQueue } from '@broker/contracts';
import type { ConnectionConfig, ObjectConfig } from '@broker/config';
import { permanentError, queueSyncFeedback, type JobContext, type RecordLocks } from '@broker/runtime';
import { buildRecordQuery, soqlString, toId18 } from '@broker/salesforce';
import { ApiBudgetError, SalesforceApiError, type SalesforceClient } from '@broker/salesforce/client';
import type { Correlation, Store } from '@broker/store';

/** Fields a CaseComment is read with: enough to post it and to recognise the broker's own comments. */
export const CASE_COMMENT_READS = ['ParentId', 'CommentBody', 'IsPublished', 'CreatedById', 'CreatedBy.Name', 'CreatedDate'];

export interface FetchDeps {
  clients: ReadonlyMap<string, SalesforceClient>;
  /** Field paths to read per `${connectionId}/${sObject}` (from the compiled mappings). */
  reads: ReadonlyMap<string, readonly string[]>;
  store: Pick<Store, 'getCorrelation' | 'wasInboundProcessed' | 'inboundAndCorrelation' | 'markInboundProcessed' | 'hasStage'>;
  mapQueue: QueueLike<typeof mapQueue>;
  /** A record that is not triggered gets that outcome (writeBack.notTriggered). */
  sfWriteQueue: QueueLike<typeof sfWriteQueue>;
  /** Coalescing marks live here (the worker connection); read directly only in the API reserve. */
  redis: Pick<Redis, 'get'>;
  prefix: string;
  /** One fetch of a record at a time, so a burst of notifications waits for it and is covered by it. */
  locks: RecordLocks;
}

type FetchJob = Job<JobDataOf<typeof sfFetchQueue, 'fetch-record'>, unknown, 'fetch-record'>;

/** Time of the latest fetch started for a record: a notification received before it is already covered. */
const fetchMarkKey = (prefix: string, connectionId: string, sfId: string) => `${prefix}:fetchmark:${connectionId}:${sfId}`;

/**
 * What a record must match, besides its id, for the query to return it. A notification is only a
 * hint (anyone who learns the endpoint can send a well-formed one), so Salesforce itself decides:
 * - a record with no work order yet must match the object's trigger;
 * - a record with a work order follows its changes without it: after the first sync the trigger
 *   (a checkbox the write-back may reset) is usually false again, and later edits must still sync;
 * - a CaseComment must not be the integration user's (no echo) and, unless publishedCommentsOnly is
 *   false, be published; whether its Case has a work order is the mapper's check on the ParentId read.
 * `correlation` is the record's as read with the ledger check (undefined: not read, read here if needed).
 */
async function recordConditions(
  d: FetchJob['data'],
  objectConfig: ObjectConfig,
  client: SalesforceClient,
  deps: FetchDeps,
  correlation: Correlation | null | undefined,
  integrationUserId?: string,
): Promise<{ conditions: string[]; triggered: boolean }> {
  if (d.sfObject === 'CaseComment' && objectConfig.messages) {
    const conditions = objectConfig.trigger ? [objectConfig.trigger] : [];
    if (objectConfig.publishedCommentsOnly) conditions.push('IsPublished = true');
    if (!integrationUserId) {
      await client.ensureSession();
      integrationUserId = client.userId;
    }
    if (integrationUserId) conditions.push(`CreatedById != ${soqlString(toId18(integrationUserId))}`);
    return { conditions, triggered: conditions.length > 0 };
  }
  if (!objectConfig.trigger) return { conditions: [], triggered: false };
  if (correlation === undefined) correlation = await deps.store.getCorrelation({ connectionId: d.connectionId, sfId: d.sfId });
  if (correlation?.workOrderId != null) return { conditions: [], triggered: false };
  return { conditions: [objectConfig.trigger], triggered: true };
}

/**
 * Read the record with one SOQL query selecting exactly the mapped paths, and pass it to the mapper.
 * The query carries the record's eligibility (recordConditions): a record that does not match is
 * recorded as not triggered and goes no further. A burst of notifications for one record coalesces:
 * a notification received before a fetch of the same record started is satisfied by that fetch
 * (Salesforce had committed its change before sending it), so it costs no API call.
 */
export async function fetchRecord(job: FetchJob, deps: FetchDeps, ctx: JobContext): Promise<string> {
  const d = job.data;
  const connection = ctx.connection();
  const client = ctx.connection(deps.clients);
  const objectConfig = connection.objects[d.sfObject];
  if (!objectConfig) throw permanentError(`object ${d.sfObject} is not configured for connection ${d.connectionId}`, 0, 'config');
  const reads =
    d.sfObject === 'CaseComment' && objectConfig.messages ? CASE_COMMENT_READS : deps.reads.get(`${d.connectionId}/${d.sfObject}`);
  if (!reads) throw permanentError(`no mapping loaded for ${d.connectionId}/${d.sfObject}`, 0, 'config');

  const stage = (outcome: 'ok' | 'skipped' | 'retry', message?: string, sfApiCalls = 0) =>
    ctx.stage('fetched', outcome, { message, sfApiCalls });

  // Once per job: a job that waited (API budget, an outage) runs again without spending an attempt.
  // A re-run looks for its row first, since the outage may have been PostgreSQL refusing this very write.
  // The row goes with the job's next one (one statement), at the latest when the job ends.
  if (
    job.attemptsMade === 0 &&
    (job.attemptsStarted <= 1 ||
      !(await deps.store.hasStage({ connectionId: d.connectionId, sfId: d.sfId, stage: 'received', jobId: job.id! })))
  ) {
    ctx.stageLater('received', 'ok', { message: `${d.source} ${d.notificationId}`, at: new Date(d.receivedAt) });
  }
  const { processed, correlation } = await readLedgerAndCorrelation(d, deps);
  if (processed) {
    await stage('skipped', `notification ${d.notificationId} was already processed (redelivery)`);
    return 'duplicate';
  }

  const markKey = fetchMarkKey(deps.prefix, d.connectionId, d.sfId);
  try {
    await client.awaitBudget();
  } catch (err) {
    if (err instanceof ApiBudgetError) {
      // The lock is not tried in the reserve, so its mark is read on its own: a notification the
      // latest fetch covers is settled now rather than after the pause.
      const mark = await deps.redis.get(markKey);
      if (covers(d, mark)) return await coalesce(d, deps, ctx, mark);
      ctx.log.warn({ usage: err.usage }, 'API budget reserve reached; delaying fetch');
      return await ctx.delay(err.retryAfterMs);
    }
    throw err;
  }

  // Notifications of a burst arrive together and their jobs start together: while one fetch of the
  // record runs, the others wait (no attempt spent) and then find themselves covered by its mark.
  // One round trip tries the lock and reads the record's fetch mark, whether the lock is free or
  // not, and does not take it when the mark covers this notification; the mark this fetch sets goes
  // with the release.
  const { lock, read } = await deps.locks.tryLockReading('sff', d.connectionId, d.sfId, {
    key: markKey,
    ...(d.source === 'resync' ? {} : { unlessAtLeast: new Date(d.receivedAt).toISOString() }),
  });
  if (covers(d, read)) {
    // Redis compares the mark as text: should it ever take the lock for a mark that covers, it is given back.
    await lock?.();
    return await coalesce(d, deps, ctx, read);
  }
  if (!lock) return await ctx.delay(FETCH_IN_FLIGHT_WAIT_MS);
  const state: FetchState = { objectConfig, reads, client, connection, stage, correlation };
  try {
    return await fetchUnderLock(job, deps, ctx, state);
  } finally {
    if (state.markSet) await lock.releaseSettingMax(markKey, state.markSet, 24 * 3600);
    else await lock();
  }
}

const FETCH_IN_FLIGHT_WAIT_MS = 250;

/**
 * Whether the notification was already processed (the inbound ledger, for an Outbound Message) and
 * the record's correlation, in one statement. The correlation decides the trigger and goes to the
 * mapper with the record; it is not read for a CaseComment or a Chatter post or reply (undefined), whose
 * mapping looks up the parent Case's instead.
 */
async function readLedgerAndCorrelation(
  d: FetchJob['data'],
  deps: FetchDeps,
): Promise<{ processed: boolean; correlation?: Correlation | null }> {
  const readsCorrelation = d.sfObject !== 'CaseComment' && d.sfObject !== 'FeedItem' && d.sfObject !== 'FeedComment';
  if (d.source !== 'outbound-message') {
    return {
      processed: false,
      correlation: readsCorrelation ? await deps.store.getCorrelation({ connectionId: d.connectionId, sfId: d.sfId }) : undefined,
    };
  }
  if (!readsCorrelation) return { processed: await deps.store.wasInboundProcessed(d.connectionId, 'sf', d.notificationId) };
  return deps.store.inboundAndCorrelation(d.connectionId, 'sf', d.notificationId, d.sfId);
}

/**
 * A notification received before the latest fetch of its record started is covered by that fetch
 * (Salesforce had committed the change before sending it); a resync always fetches.
 */
const covers = (d: FetchJob['data'], mark: string | null): mark is string =>
  mark !== null && mark !== '' && d.source !== 'resync' && !(Date.parse(mark) < Date.parse(d.receivedAt));

/** A covered notification is recorded as processed, with its timeline rows, in one statement: no API call. */
async function coalesce(d: FetchJob['data'], deps: FetchDeps, ctx: JobContext, mark: string): Promise<'coalesced'> {
  await deps.store.markInboundProcessed(
    { connectionId: d.connectionId, source: 'sf', notificationId: d.notificationId, sfId: d.sfId },
    ctx.takeStages('fetched', 'skipped', { message: `covered by a fetch started at ${mark}` }),
  );
  return 'coalesced';
}

/** What the mapper is given of the correlation read before the fetch (MapRecordJob.correlation). */
function correlationSnapshot(c: Correlation | null): JobDataOf<typeof mapQueue, 'map-record'>['correlation'] {
  if (!c) return null;
  const { id, workOrderId, state, version, lastPayloadHash } = c;
  return { id, workOrderId, state, version, lastSfModstamp: c.lastSfModstamp?.toISOString() ?? null, lastPayloadHash };
}

interface FetchState {
  objectConfig: ObjectConfig;
  reads: readonly string[];
  client: SalesforceClient;
  connection: ConnectionConfig;
  stage: (outcome: 'ok' | 'skipped' | 'retry', message?: string, sfApiCalls?: number) => Promise<unknown>;
  /** The record's correlation, read with the ledger check (undefined: not read). */
  correlation?: Correlation | null;
  /**
   * The start of this fetch, once its result is queued (or the record found not triggered): the
   * lock's release sets it as the mark. A fetch that dies half-way covers nothing.
   */
  markSet?: string;
}

async function fetchUnderLock(job: FetchJob, deps: FetchDeps, ctx: JobContext, state: FetchState): Promise<string> {
  const { objectConfig, reads, client, connection, stage } = state;
  const d = job.data;
  const { conditions, triggered } = await recordConditions(
    d,
    objectConfig,
    client,
    deps,
    state.correlation,
    connection.salesforce.integrationUserId,
  );
  const startedAt = new Date().toISOString();
  const cancel = d.sfObject === 'CaseComment' ? undefined : objectConfig.cancel;
  const soql = buildRecordQuery(d.sfObject, cancel?.reasonField ? [...reads, cancel.reasonField] : [...reads], d.sfId, conditions);
  let records: Record<string, unknown>[];
  let cancelRequested: boolean | undefined;
  try {
    if (cancel) {
      ({ records, cancelRequested } = await queryWithCancelCondition(client, connection, soql, d.sfObject, d.sfId, cancel.condition));
    } else {
      ({ records } = await client.query(soql));
    }
  } catch (err) {
    const e = err as { errorCode?: string; retryable?: boolean; message: string };
    if (e.retryable) {
      await stage('retry', `${e.errorCode ?? 'ERROR'}: ${e.message}`, 1);
      throw err;
    }
    throw permanentError(`${e.errorCode ?? 'ERROR'}: ${e.message}`, 1, e.errorCode);
  }
  // The row is written after the map job is queued, by when the mapper may have written its own: it
  // carries the time the record was read, so the timeline keeps the order things happened in.
  const fetchedAt = new Date();
  const record = records[0];
  if (!record && triggered) {
    // Salesforce answers the same for a record that does not match and one deleted or not visible:
    // telling them apart would cost a second call, and neither may become a work order.
    state.markSet = startedAt;
    await deps.store.markInboundProcessed({ connectionId: d.connectionId, source: 'sf', notificationId: d.notificationId, sfId: d.sfId });
    await ctx.stage('not-triggered', 'skipped', {
      sfApiCalls: 1,
      message: `not triggered: no ${d.sfObject} ${d.sfId} matches ${conditions.join(' AND ')} (the condition is false, or the record was deleted or is not visible to the integration user); nothing is sent to Field Nation`,
      detail: { source: d.source, notificationId: d.notificationId, conditions },
    });
    ctx.log.info({ sfObject: d.sfObject, sfId: d.sfId, source: d.source }, 'record does not match its trigger; not synced');
    if (objectConfig.writeBack?.notTriggered && d.sfObject !== 'CaseComment') {
      // One outcome per notification; a record that is gone is skipped by the writer.
      await queueSyncFeedback(
        deps.sfWriteQueue,
        { connection, sfObject: d.sfObject, sfId: d.sfId },
        {
          status: 'failed',
          reason: `Not triggered: the record does not match ${conditions.join(' AND ')}; nothing was sent to Field Nation`,
        },
        `nt${Date.parse(startedAt)}`,
      );
    }
    return 'not-triggered';
  }
  if (!record) {
    throw permanentError(`${d.sfObject} ${d.sfId} not found (deleted, or not visible to the integration user)`, 1, 'record-not-found');
  }

  await enqueue(
    deps.mapQueue,
    'map-record',
    {
      connectionId: d.connectionId,
      sfObject: d.sfObject,
      sfId: d.sfId,
      notificationId: d.notificationId,
      record,
      fetchedAt: startedAt,
      sfApiCalls: 1,
      integrationUserId: client.userId,
      ...(cancelRequested !== undefined ? { cancelRequested } : {}),
      ...(state.correlation !== undefined ? { correlation: correlationSnapshot(state.correlation) } : {}),
    },
    { jobId: mapJobId(d.connectionId, d.notificationId) },
  );
  // The mark is the start of this fetch, set (with the release) only once its result is safely queued:
  // a fetch that dies half-way covers nothing, and notifications received while it ran fetch again.
  state.markSet = startedAt;
  await deps.store.markInboundProcessed(
    { connectionId: d.connectionId, source: 'sf', notificationId: d.notificationId, sfId: d.sfId },
    ctx.takeStages('fetched', 'ok', { message: `${reads.length} fields`, sfApiCalls: 1, at: fetchedAt }),
  );
  return 'fetched';
}

const RETRYABLE_QUERY_ERRORS = new Set(['UNABLE_TO_LOCK_ROW', 'SERVER_UNAVAILABLE', 'REQUEST_LIMIT_EXCEEDED', 'QUERY_TIMEOUT']);

/**
 * The record query and its cancel condition in one API call: a composite request of two query
 * subrequests (Salesforce counts a composite request as one call, and evaluates the condition
 * itself, exactly as written). SOQL cannot select a condition's truth, so the second subrequest
 * selects the record's Id only where the condition holds.
 */
async function queryWithCancelCondition(
  client: SalesforceClient,
  connection: ConnectionConfig,
  soql: string,
  sfObject: string,
  sfId: string,
  condition: string,
): Promise<{ records: Record<string, unknown>[]; cancelRequested: boolean }> {
  const url = (q: string) => `/services/data/v${connection.salesforce.apiVersion}/query?q=${encodeURIComponent(q)}`;
  const results = await client.composite(
    [
      { method: 'GET', url: url(soql), referenceId: 'record' },
      { method: 'GET', url: url(buildRecordQuery(sfObject, [], sfId, [condition])), referenceId: 'cancel' },
    ],
    false,
  );
  const bodyOf = (ref: string) => {
    const r = results.find((x) => x.referenceId === ref);
    if (r && r.httpStatusCode < 400) return r.body as { records?: Record<string, unknown>[] };
    const e = (Array.isArray(r?.body) ? (r!.body as { errorCode?: string; message?: string }[]) : [])[0];
    const code = e?.errorCode ?? `HTTP_${r?.httpStatusCode ?? '?'}`;
    const what = ref === 'cancel' ? 'the cancel condition: ' : '';
    throw new SalesforceApiError(
      `${what}${e?.message ?? 'query failed'}`,
      code,
      r?.httpStatusCode,
      RETRYABLE_QUERY_ERRORS.has(code) || /^HTTP_5/.test(code),
    );
  };
  const records = bodyOf('record').records ?? [];
  return { records, cancelRequested: (bodyOf('cancel').records ?? []).length > 0 };
}
