import type { Job } from 'bullmq';
import {
  chatterNotificationId,
  enqueueBulk,
  mapJobId,
  type JobDataOf,
  type mapQueue,
  type QueueLike,
  type sfChatterQueue,
} from '@broker/contracts';
import { chatterObjects } from '@broker/config';
import type { JobContext, RecordLocks } from '@broker/runtime';
import { ApiBudgetError, type SalesforceClient } from '@broker/salesforce/client';
import type { ChatterCursor, ChatterStore } from '@broker/store';
import { closeWindow, feedQuery, planWindow } from './chatter-queries';

export interface ChatterSweepDeps {
  clients: ReadonlyMap<string, Pick<SalesforceClient, 'queryPage' | 'awaitBudget' | 'ensureSession' | 'userId'>>;
  chatter: Pick<ChatterStore, 'getChatterCursor' | 'saveChatterCursor' | 'chatterParents' | 'linkedSalesforceIds'>;
  mapQueue: QueueLike<typeof mapQueue>;
  /** One sweep of a connection at a time, whatever the number of fetcher replicas. */
  locks: RecordLocks;
  /** The sweep's clock (tests move it). */
  now?: () => Date;
}

type SweepJob = Job<JobDataOf<typeof sfChatterQueue, 'chatter-sweep'>, unknown, 'chatter-sweep'>;

export interface ChatterSweepResult {
  /** Query pages read: one API call each. */
  apiCalls: number;
  /** Posts and replies read (the overlap reads some again). */
  read: number;
  /** Of those, new ones handed to the mapper. */
  queued: number;
  /** Records whose feeds were read. */
  records: number;
  /** The window was read to its end (else the next sweep resumes it). */
  complete: boolean;
  /** The call budget or the API reserve stopped the sweep, or another sweep of the connection was running. */
  stoppedBy?: 'maxApiCalls' | 'api-reserve' | 'busy';
}

interface FeedRow extends Record<string, unknown> {
  Id: string;
  ParentId?: string;
  CreatedDate?: string;
}

/**
 * Chatter posts and replies reach no Outbound Message, so this sweep asks for them: the posts
 * (FeedItem) and, unless `replies` is off, the replies (FeedComment) created in the window on the
 * records of the connection's Chatter objects that have a work order, `parentIdsPerQuery` records
 * per query, written by anyone but the integration user. New ones (no message link yet) go to the
 * mapper as records. At most `maxApiCalls` query pages per sweep; the cursor in PostgreSQL records
 * where a stopped sweep was (the last row read, by CreatedDate and Id), so a restart neither skips
 * nor reads a row twice within a window. No record with a work order: no call at all.
 */
export async function chatterSweep(job: SweepJob, deps: ChatterSweepDeps, ctx: JobContext): Promise<ChatterSweepResult> {
  const d = job.data;
  const connection = ctx.connection();
  const objects = chatterObjects(connection);
  const result: ChatterSweepResult = { apiCalls: 0, read: 0, queued: 0, records: 0, complete: false };
  if (objects.length === 0) return { ...result, complete: true };
  const release = await deps.locks.tryLock('chs', d.connectionId, 'sweep');
  if (!release) return { ...result, stoppedBy: 'busy' };
  try {
    return await sweepUnderLock(job, deps, ctx, result);
  } finally {
    await release();
  }
}

async function sweepUnderLock(
  job: SweepJob,
  deps: ChatterSweepDeps,
  ctx: JobContext,
  result: ChatterSweepResult,
): Promise<ChatterSweepResult> {
  const d = job.data;
  const connection = ctx.connection();
  const settings = connection.chatterSweep;
  const objects = chatterObjects(connection);
  const client = ctx.connection(deps.clients);
  const now = deps.now?.() ?? new Date();

  let cursor: ChatterCursor = planWindow(d.connectionId, await deps.chatter.getChatterCursor(d.connectionId), now, settings);
  const objectNames = objects.map((o) => o.object);
  const itemFields = [...new Set(objects.map((o) => o.bodyField))];
  const commentFields = [...new Set(objects.map((o) => o.commentBodyField))];
  const replies = objects.some((o) => o.replies);
  const phases: ('items' | 'comments')[] = replies ? ['items', 'comments'] : ['items'];
  let integrationUserId = connection.salesforce.integrationUserId;

  const stop = async (why: ChatterSweepResult['stoppedBy']) => {
    await deps.chatter.saveChatterCursor(cursor);
    result.stoppedBy = why;
    ctx.log.info({ ...result, cursor }, 'chatter sweep stopped; the next one resumes the window');
    return result;
  };

  for (;;) {
    const parents = await deps.chatter.chatterParents(d.connectionId, objectNames, {
      afterId: cursor.afterParentId,
      limit: settings.parentIdsPerQuery,
    });
    if (parents.length === 0) break;
    result.records += parents.length;
    const startPhase = cursor.chunkPhase ? phases.indexOf(cursor.chunkPhase) : 0;
    for (const phase of phases.slice(Math.max(0, startPhase))) {
      if (!integrationUserId) {
        await client.ensureSession(); // a login, not an API call
        integrationUserId = client.userId;
      }
      const resume = cursor.chunkPhase === phase && cursor.chunkFrom && cursor.chunkAfterId;
      let next: string | undefined = feedQuery({
        phase,
        parentIds: parents,
        bodyFields: phase === 'items' ? itemFields : commentFields,
        from: cursor.windowFrom!,
        until: cursor.windowUntil!,
        after: resume ? { createdDate: cursor.chunkFrom!, id: cursor.chunkAfterId! } : undefined,
        integrationUserId,
      });
      while (next) {
        if (result.apiCalls >= settings.maxApiCalls) return stop('maxApiCalls');
        try {
          await client.awaitBudget();
        } catch (err) {
          if (err instanceof ApiBudgetError) return stop('api-reserve');
          throw err;
        }
        const page: { records: FeedRow[]; nextRecordsUrl?: string } = await client.queryPage<FeedRow>(next, settings.pageSize);
        result.apiCalls++;
        result.read += page.records.length;
        result.queued += await feed(d.connectionId, phase, page.records, integrationUserId, deps, ctx);
        next = page.nextRecordsUrl;
        // Rows come by CreatedDate, then Id: the last one read is where a stopped sweep resumes, exactly.
        const last = page.records.at(-1);
        if (next && last?.CreatedDate) {
          cursor = { ...cursor, chunkPhase: phase, chunkFrom: new Date(Date.parse(last.CreatedDate)), chunkAfterId: last.Id };
          await deps.chatter.saveChatterCursor(cursor);
        }
      }
      cursor = { ...cursor, chunkPhase: null, chunkFrom: null, chunkAfterId: null };
      if (phase !== phases.at(-1)) cursor = { ...cursor, chunkPhase: phases[phases.indexOf(phase) + 1]! };
    }
    cursor = { ...cursor, afterParentId: parents.at(-1)!, chunkPhase: null, chunkFrom: null, chunkAfterId: null };
    await deps.chatter.saveChatterCursor(cursor);
    if (parents.length < settings.parentIdsPerQuery) break;
  }
  cursor = closeWindow(cursor);
  await deps.chatter.saveChatterCursor(cursor);
  result.complete = true;
  if (result.apiCalls > 0) ctx.log.info({ ...result, watermark: cursor.watermark }, 'chatter sweep done');
  return result;
}

/** Hand the posts or replies not linked to a message yet to the mapper (one job per Salesforce id, ever). */
async function feed(
  connectionId: string,
  phase: 'items' | 'comments',
  rows: FeedRow[],
  integrationUserId: string | undefined,
  deps: ChatterSweepDeps,
  ctx: JobContext,
): Promise<number> {
  if (rows.length === 0) return 0;
  const linked = await deps.chatter.linkedSalesforceIds(
    connectionId,
    rows.map((r) => r.Id),
  );
  const fresh = rows.filter((r) => !linked.has(r.Id));
  if (fresh.length === 0) return 0;
  const fetchedAt = new Date().toISOString();
  const sfObject = phase === 'items' ? 'FeedItem' : 'FeedComment';
  await enqueueBulk(
    deps.mapQueue,
    fresh.map((r) => {
      const notificationId = chatterNotificationId(r.Id);
      return {
        name: 'map-record' as const,
        data: { connectionId, sfObject, sfId: r.Id, notificationId, record: r, fetchedAt, sfApiCalls: 0, integrationUserId },
        opts: { jobId: mapJobId(connectionId, notificationId) },
      };
    }),
  );
  await Promise.all(
    fresh.map((r) =>
      ctx.stage('received', 'ok', { sfId: r.ParentId ?? r.Id, message: `chatter sweep: ${sfObject} ${r.Id} (${r.CreatedDate ?? '?'})` }),
    ),
  );
  return fresh.length;
}
