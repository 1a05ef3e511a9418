// salesforce-fetcher: consumes sf.fetch (read a notified record with one query) and sf.reconcile
// (sweeps for records a dropped Outbound Message never announced, one scheduler per connection
// and triggered object); produces map and sf.fetch. Start-up and shutdown: runWorkerApp.
import { mapQueue, schedulers, sfFetchQueue, sfReconcileQueue, sfWriteQueue } from '@broker/contracts';
import { redisRecordLocks, syncFailureFeedback } from '@broker/runtime';
import { consume, runWorkerApp } from '@broker/runtime/worker-app';
import { createSalesforceClients } from '@broker/salesforce/client';
import { fetchRecord } from './fetch-record.processor';
import { reconcileSweep } from './reconcile.processor';

await runWorkerApp({
  service: 'salesforce-fetcher',
  opsPort: 9101,
  setup: (app) => {
    const clients = createSalesforceClients(app.config.connections, app.logger, app.metrics);
    const reads = new Map([...app.mappings()].map(([key, m]) => [key, m.reads]));
    const fetch = {
      clients,
      reads,
      store: app.store,
      mapQueue: app.produce(mapQueue),
      sfWriteQueue: app.produce(sfWriteQueue),
      redis: app.redis,
      prefix: app.prefix,
      locks: redisRecordLocks(app.redis, app.prefix),
    };
    const sweeps = app.config.connections.flatMap((c) =>
      c.reconciliation.enabled
        ? Object.entries(c.objects).flatMap(([object, oc]) =>
            oc.trigger ? [schedulers.reconcile(c.id, object, c.reconciliation.every)] : [],
          )
        : [],
    );
    return {
      consumes: [
        consume(sfFetchQueue, { 'fetch-record': fetchRecord }, fetch, {
          failedStage: 'fetched',
          // A record that cannot be read (a gone one excepted): a failed outcome on the record.
          finalFailure: syncFailureFeedback(fetch.sfWriteQueue, app.connections, {
            skip: (err) => (err as { reason?: string }).reason === 'record-not-found',
          }),
        }),
        consume(
          sfReconcileQueue,
          { sweep: reconcileSweep },
          { clients, store: app.store, fetchQueue: app.produce(sfFetchQueue) },
          { concurrency: 1 },
        ),
      ],
      schedules: [{ queue: sfReconcileQueue, schedulers: sweeps }],
    };
  },
});
