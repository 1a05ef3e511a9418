import type { Job } from 'bullmq';
import { enqueueBulk, jobId, type JobDataOf, type QueueOf, type sfFetchQueue, type sfReconcileQueue } from '@broker/contracts';
import type { ConnectionConfig } from '@broker/config';
import { permanentError, type JobContext } from '@broker/runtime';
import { type SalesforceClient } from '@broker/salesforce/client';
import type { Store } from '@broker/store';

export interface ReconcileDeps {
  connections: Map<string, ConnectionConfig>;
  clients: Map<string, SalesforceClient>;
  store: Store;
  fetchQueue: QueueOf<typeof sfFetchQueue>;
}

type SweepJob = Job<JobDataOf<typeof sfReconcileQueue, 'sweep'>, unknown, 'sweep'>;

export interface SweepResult {
  candidates: number;
  queued: number;
  apiCalls: number;
}

const sameUser = (a?: string | null, b?: string | null) => Boolean(a && b && a.slice(0, 15) === b.slice(0, 15));

/**
 * Salesforce drops an Outbound Message it could not deliver for 24 hours. The sweep asks for the
 * records that match the connection's trigger and changed within the window, and feeds those with
 * no correlation, or with a correlation older than the record, into the pipeline. Its cost is
 * bounded: one query, plus one fetch per record fed, at most `maxApiCalls` in all.
 */
export async function reconcileSweep(job: SweepJob, deps: ReconcileDeps, ctx: JobContext): Promise<SweepResult> {
  const d = job.data;
  const connection = deps.connections.get(d.connectionId);
  const client = deps.clients.get(d.connectionId);
  if (!connection || !client) throw permanentError(`unknown connection ${d.connectionId}`);
  const objectConfig = connection.objects[d.sfObject];
  if (!objectConfig?.trigger) throw permanentError(`${d.sfObject} has no trigger condition to reconcile on`);
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(d.sfObject)) throw permanentError('invalid object name');

  const settings = connection.reconciliation;
  const windowHours = d.windowHours ?? settings.windowHours;
  const since = new Date(Date.now() - windowHours * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const budget = Math.max(0, settings.maxApiCalls - 1);
  // LIMIT bounds the answer to what this sweep may feed; the next sweep picks up the rest (oldest first).
  const soql =
    `SELECT Id, SystemModstamp, LastModifiedById FROM ${d.sfObject} ` +
    `WHERE (${objectConfig.trigger}) AND SystemModstamp >= ${since} ORDER BY SystemModstamp ASC LIMIT ${Math.max(budget * 4, 50)}`;
  const { records } = await client.query<{ Id: string; SystemModstamp: string; LastModifiedById?: string }>(soql);
  const correlations = new Map((await deps.store.getCorrelations(d.connectionId, records.map((r) => r.Id))).map((c) => [c.sfId, c]));
  const integrationUser = connection.salesforce.integrationUserId ?? client.userId;

  const missing = records.filter((r) => {
    const c = correlations.get(r.Id);
    if (!c) return true;
    if (!c.lastSfModstamp) return true;
    if (Date.parse(r.SystemModstamp) <= c.lastSfModstamp.getTime()) return false;
    // The broker's own write-back also moves SystemModstamp: that is not a change to sync.
    return !sameUser(r.LastModifiedById, integrationUser);
  });
  const fed = missing.slice(0, budget);
  const receivedAt = new Date().toISOString();
  if (fed.length) {
    await enqueueBulk(
      deps.fetchQueue,
      fed.map((r) => {
        const id = jobId('rc', d.connectionId, r.Id, Date.parse(r.SystemModstamp));
        return {
          name: 'fetch-record' as const,
          data: { connectionId: d.connectionId, sfObject: d.sfObject, sfId: r.Id, notificationId: id, source: 'reconcile' as const, receivedAt, snapshot: {} },
          opts: { jobId: id },
        };
      }),
    );
    await Promise.all(
      fed.map((r) =>
        deps.store.recordStage({ connectionId: d.connectionId, sfId: r.Id, stage: 'reconciled', outcome: 'ok', queue: job.queueName, jobId: job.id, message: correlations.has(r.Id) ? 'changed since the last sync; re-fetching' : 'no work order yet; fetching' }),
      ),
    );
  }
  const result = { candidates: missing.length, queued: fed.length, apiCalls: 1 };
  ctx.log.info({ ...result, sfObject: d.sfObject, windowHours }, 'reconciliation sweep done');
  return result;
}
