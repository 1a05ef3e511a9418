// salesforce-fetcher: consumes sf.fetch (read a notified record with one query), sf.reconcile
// (sweeps for records a dropped Outbound Message never announced, one scheduler per connection
// and triggered object) and sf.chatter (Chatter posts and replies, one scheduler per connection with
// a Chatter object); produces map and sf.fetch. Start-up and shutdown: runWorkerApp.
import { mapQueue, schedulers, sfChatterQueue, sfFetchQueue, sfReconcileQueue } from '@broker/contracts';
import { chatterObjects } from '@broker/config';
import { redisRecordLocks } from '@broker/runtime';
import { consume, runWorkerApp } from '@broker/runtime/worker-app';
import { createSalesforceClients } from '@broker/salesforce/client';
import { createChatterStore } from '@broker/store';
import { chatterSweep } from './chatter-sweep.processor';
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
    const chatter = app.config.connections.flatMap((c) =>
      chatterObjects(c).length ? [schedulers.chatter(c.id, c.chatterSweep.every)] : [],
    );
    return {
      consumes: [
        consume(sfFetchQueue, { 'fetch-record': fetchRecord }, fetch, { failedStage: 'fetched' }),
        consume(
          sfReconcileQueue,
          { sweep: reconcileSweep },
          { clients, store: app.store, fetchQueue: app.produce(sfFetchQueue) },
          { concurrency: 1 },
        ),
        consume(
          sfChatterQueue,
          { 'chatter-sweep': chatterSweep },
          { clients, chatter: createChatterStore(app.prisma), mapQueue: fetch.mapQueue, locks: fetch.locks },
          { concurrency: 1 },
        ),
      ],
      schedules: [
        { queue: sfReconcileQueue, schedulers: sweeps },
        { queue: sfChatterQueue, schedulers: chatter },
      ],
    };
  },
});
