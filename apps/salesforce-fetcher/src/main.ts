// salesforce-fetcher: consumes sf.fetch (read a notified record with one query) and sf.reconcile
// (sweeps for records a dropped Outbound Message never announced, one scheduler per connection
// and triggered object); produces map and sf.fetch. Start-up and shutdown: runWorkerApp.
import { fnFileQueue, mapQueue, schedulers, sfFetchQueue, sfFilePollQueue, sfReconcileQueue } from '@broker/contracts';
import { redisRecordLocks } from '@broker/runtime';
import { consume, runWorkerApp } from '@broker/runtime/worker-app';
import { createSalesforceClients } from '@broker/salesforce/client';
import { fetchRecord } from './fetch-record.processor';
import { createFileLinks } from '@broker/store';
import { pollFiles } from './poll-files.processor';
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
    // Files attached in Salesforce: one poll query per connection that copies them to Field Nation.
    const filePolls = app.config.connections.flatMap((c) =>
      c.files.toFieldNation ? [schedulers.filePoll(c.id, c.files.toFieldNation.pollEvery)] : [],
    );
    const polls = {
      clients,
      store: app.store,
      fileLinks: createFileLinks(app.prisma),
      fnFileQueue: app.produce(fnFileQueue),
      kv: app.redis,
      prefix: app.prefix,
    };
    return {
      consumes: [
        consume(sfFetchQueue, { 'fetch-record': fetchRecord }, fetch, { failedStage: 'fetched' }),
        consume(
          sfReconcileQueue,
          { sweep: reconcileSweep },
          { clients, store: app.store, fetchQueue: app.produce(sfFetchQueue) },
          { concurrency: 1 },
        ),
        consume(sfFilePollQueue, { 'poll-files': pollFiles }, polls, { concurrency: 1 }),
      ],
      schedules: [
        { queue: sfReconcileQueue, schedulers: sweeps },
        { queue: sfFilePollQueue, schedulers: filePolls },
      ],
    };
  },
});
