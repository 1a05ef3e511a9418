import type { Job } from 'bullmq';
import { enqueueBulk, fetchJobId, type JobDataOf, type QueueLike, type sfFetchQueue, type sfReconcileQueue } from '@broker/contracts';
import { permanentError, type JobContext } from '@broker/runtime';
import { sameSalesforceId } from '@broker/salesforce';
import { ApiBudgetError, type SalesforceClient } from '@broker/salesforce/client';
import type { Store } from '@broker/store';

export interface ReconcileDeps {
  clients: ReadonlyMap<string, SalesforceClient>;
  store: Pick<Store, 'getCorrelations'>;
  fetchQueue: QueueLike<typeof sfFetchQueue>;
}

type SweepJob = Job<JobDataOf<typeof sfReconcileQueue, 'sweep'>, unknown, 'sweep'>;

export interface SweepResult {
  /** Records the query pages returned. */
  scanned: number;
  /** Of those, records with no work order or changed since their last sync (found so far). */
  candidates: number;
  /** Fetch jobs queued: each will cost one API call. */
  queued: number;
  /** Query pages read (one API call each). */
  apiCalls: number;
  /** The API budget reserve stopped the sweep. */
  paused: boolean;
}

interface SweepRecord extends Record<string, unknown> {
  Id: string;
  SystemModstamp: string;
  LastModifiedById?: string;
}

/**
 * Salesforce drops an Outbound Message it could not deliver for 24 hours. The sweep asks for the
 * records that match the connection's trigger and changed within the window, and feeds those with
 * no correlation, or with a correlation older than the record, into the pipeline. Its cost is
 * bounded: query pages (up to `pageSize` records each) plus one fetch per record fed, at most
 * `maxApiCalls` in all. Records with no work order yet go first; the rest wait for the next sweep.
 */
export async function reconcileSweep(job: SweepJob, deps: ReconcileDeps, ctx: JobContext): Promise<SweepResult> {
  const d = job.data;
  const connection = ctx.connection();
  const client = ctx.connection(deps.clients);
  const objectConfig = connection.objects[d.sfObject];
  if (!objectConfig?.trigger) throw permanentError(`${d.sfObject} has no trigger condition to reconcile on`, 0, 'config');
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(d.sfObject)) throw permanentError('invalid object name', 0, 'config');

  const settings = connection.reconciliation;
  const windowHours = d.windowHours ?? settings.windowHours;
  const since = new Date(Date.now() - windowHours * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const integrationUser = connection.salesforce.integrationUserId ?? client.userId;
  const soql = `SELECT Id, SystemModstamp, LastModifiedById FROM ${d.sfObject} WHERE (${objectConfig.trigger}) AND SystemModstamp >= ${since} ORDER BY SystemModstamp ASC`;

  const unknown: SweepRecord[] = [];
  const stale: SweepRecord[] = [];
  let apiCalls = 0;
  let scanned = 0;
  let paused = false;
  let next: string | undefined = soql;
  // Read pages while a page may still find something the remaining budget could feed.
  while (next && apiCalls < settings.maxApiCalls - 1 && unknown.length + stale.length < settings.maxApiCalls - apiCalls) {
    try {
      await client.awaitBudget();
    } catch (err) {
      if (!(err instanceof ApiBudgetError)) throw err;
      ctx.log.warn({ usage: err.usage }, 'API budget reserve reached; sweep stops here, the next one goes on');
      paused = true;
      break;
    }
    const page: { records: SweepRecord[]; nextRecordsUrl?: string } = await client.queryPage<SweepRecord>(next, settings.pageSize);
    apiCalls++;
    scanned += page.records.length;
    next = page.nextRecordsUrl;
    const correlations = new Map(
      (
        await deps.store.getCorrelations(
          d.connectionId,
          page.records.map((r) => r.Id),
        )
      ).map((c) => [c.sfId, c]),
    );
    for (const r of page.records) {
      const c = correlations.get(r.Id);
      if (!c?.workOrderId || !c.lastSfModstamp) unknown.push(r);
      else if (Date.parse(r.SystemModstamp) > c.lastSfModstamp.getTime() && !sameSalesforceId(r.LastModifiedById, integrationUser))
        stale.push(r);
      // The broker's own write-back also moves SystemModstamp: that is not a change to sync.
    }
  }

  const fed = [...unknown, ...stale].slice(0, Math.max(0, settings.maxApiCalls - apiCalls));
  const receivedAt = new Date().toISOString();
  if (fed.length) {
    await enqueueBulk(
      deps.fetchQueue,
      fed.map((r) => {
        const id = fetchJobId.reconcile(d.connectionId, r.Id, Date.parse(r.SystemModstamp));
        return {
          name: 'fetch-record' as const,
          data: {
            connectionId: d.connectionId,
            sfObject: d.sfObject,
            sfId: r.Id,
            notificationId: id,
            source: 'reconcile' as const,
            receivedAt,
            snapshot: {},
          },
          opts: { jobId: id },
        };
      }),
    );
    const unknownIds = new Set(unknown.map((r) => r.Id));
    await Promise.all(
      fed.map((r) =>
        ctx.stage('reconciled', 'ok', {
          sfId: r.Id,
          message: unknownIds.has(r.Id) ? 'no work order yet; fetching' : 'changed since the last sync; re-fetching',
        }),
      ),
    );
  }
  const result = { scanned, candidates: unknown.length + stale.length, queued: fed.length, apiCalls, paused };
  ctx.log.info({ ...result, sfObject: d.sfObject, windowHours }, 'reconciliation sweep done');
  return result;
}
