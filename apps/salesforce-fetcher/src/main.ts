// salesforce-fetcher: consumes sf.fetch (read a notified record with one query), sf.reconcile
// (sweeps for records a dropped Outbound Message never announced, one scheduler per connection
// and triggered object) and sf.chatter (Chatter posts and replies, one scheduler per connection with
// a Chatter object); produces map and sf.fetch. Start-up and shutdown: runWorkerApp.
import {
  fnFileQueue,
  mapQueue,
  schedulers,
  sfChatterQueue,
  sfFetchQueue,
  sfFilePollQueue,
  sfReconcileQueue,
  sfWriteQueue,
} from '@broker/contracts';
import { chatterObjects } from '@broker/config';
import { connectionCatalogueLookup } from '@broker/fieldnation';
import { redisRecordLocks, syncFailureFeedback } from '@broker/runtime';
import { consume, perVersion, runWorkerApp, type AppConfig } from '@broker/runtime/worker-app';
import { createSalesforceClients } from '@broker/salesforce/client';
import { chatterSweep } from './chatter-sweep.processor';
import { fetchRecord } from './fetch-record.processor';
import { createChatterStore, createFileLinks } from '@broker/store';
import { pollFiles } from './poll-files.processor';
import { reconcileSweep } from './reconcile.processor';

await runWorkerApp({
  service: 'salesforce-fetcher',
  opsPort: 9101,
  // Names of Field Nation catalogue entries in the mappings resolve at start-up (cached per process).
  mappingNames: (c) => connectionCatalogueLookup(c.fieldnation),
  setup: (app) => {
    const clients = createSalesforceClients(app.config.connections, app.logger, app.metrics);
    app.mappings(); // compiled at start-up: a broken mapping stops the app (exit 78)
    const fetch = {
      clients,
      store: app.store,
      mapQueue: app.produce(mapQueue),
      sfWriteQueue: app.produce(sfWriteQueue),
      redis: app.redis,
      prefix: app.prefix,
      locks: redisRecordLocks(app.redis, app.prefix),
    };
    // The fields read and the sweeps follow the configuration version in force (database mode applies new ones live).
    const sweeps = (config: AppConfig) =>
      config.config.connections.flatMap((c) =>
        c.reconciliation.enabled
          ? Object.entries(c.objects).flatMap(([object, oc]) =>
              oc.trigger ? [schedulers.reconcile(c.id, object, c.reconciliation.every)] : [],
            )
          : [],
      );
    // Files attached in Salesforce: one poll query per connection that copies them to Field Nation.
    const filePolls = (config: AppConfig) =>
      config.config.connections.flatMap((c) => (c.files.toFieldNation ? [schedulers.filePoll(c.id, c.files.toFieldNation.pollEvery)] : []));
    const polls = {
      clients,
      store: app.store,
      fileLinks: createFileLinks(app.prisma),
      fnFileQueue: app.produce(fnFileQueue),
      kv: app.redis,
      prefix: app.prefix,
    };
    const chatter = (config: AppConfig) =>
      config.config.connections.flatMap((c) => (chatterObjects(c).length ? [schedulers.chatter(c.id, c.chatterSweep.every)] : []));
    return {
      consumes: [
        consume(
          sfFetchQueue,
          { 'fetch-record': fetchRecord },
          perVersion((config) => ({ ...fetch, reads: new Map([...config.mappings()].map(([key, m]) => [key, m.reads])) })),
          {
            failedStage: 'fetched',
            // A record that cannot be read (a gone one excepted): a failed outcome on the record.
            finalFailure: syncFailureFeedback(fetch.sfWriteQueue, app.connections, {
              skip: (err) => (err as { reason?: string }).reason === 'record-not-found',
            }),
          },
        ),
        consume(
          sfReconcileQueue,
          { sweep: reconcileSweep },
          { clients, store: app.store, fetchQueue: app.produce(sfFetchQueue) },
          { concurrency: 1 },
        ),
        consume(sfFilePollQueue, { 'poll-files': pollFiles }, polls, { concurrency: 1 }),
        consume(
          sfChatterQueue,
          { 'chatter-sweep': chatterSweep },
          { clients, chatter: createChatterStore(app.prisma), mapQueue: fetch.mapQueue, locks: fetch.locks },
          { concurrency: 1 },
        ),
      ],
      schedules: (config) => [
        { queue: sfReconcileQueue, schedulers: sweeps(config) },
        { queue: sfFilePollQueue, schedulers: filePolls(config) },
        { queue: sfChatterQueue, schedulers: chatter(config) },
      ],
    };
  },
});
