// mapper: consumes map (a fetched record becomes a work-order state or a message), fn.event (Field
// Nation webhooks through the event rules) and maintenance (retention, one scheduler for the whole
// broker); produces fn.write and sf.write. Start-up and shutdown: runWorkerApp.
import { fnEventQueue, fnWriteQueue, maintenanceQueue, mapQueue, schedulers, sfFileQueue, sfWriteQueue } from '@broker/contracts';
import { connectionCatalogueLookup, createFieldNationClients } from '@broker/fieldnation';
import { syncFailureFeedback } from '@broker/runtime';
import { consume, perVersion, runWorkerApp } from '@broker/runtime/worker-app';
import { handleFieldNationEvent } from './fn-event.processor';
import { mapRecord } from './map-record.processor';
import { retentionSweep } from './retention-sweep.processor';

await runWorkerApp({
  service: 'mapper',
  opsPort: 9102,
  // Names of Field Nation catalogue entries in the mappings resolve at start-up (cached per process).
  mappingNames: (c) => connectionCatalogueLookup(c.fieldnation),
  databasePool: (concurrency) => Math.min(concurrency * 2 + 2, 40),
  setup: (app) => {
    // Mappings compile here: a broken one stops the app (exit 78) with the file and entry named.
    const mappings = app.mappings();
    // Field Nation is read only for message events whose body carries no message text.
    const fieldNation = createFieldNationClients(app.config.connections, app.logger, app.metrics);
    app.eventRules();
    const sfWrite = app.produce(sfWriteQueue);
    const events = {
      store: app.store,
      sfWriteQueue: sfWrite,
      listMessages: (connectionId: string, workOrderId: number) => fieldNation.get(connectionId)!.listMessages(workOrderId),
      sfFileQueue: app.produce(sfFileQueue),
    };
    return {
      consumes: [
        consume(
          mapQueue,
          { 'map-record': mapRecord },
          // Per configuration version: database mode swaps in new mappings and rules between jobs.
          perVersion((config) => ({
            mappings: config.mappings(),
            store: app.store,
            fnWriteQueue: app.produce(fnWriteQueue),
            sfWriteQueue: sfWrite,
            locks: app.locks,
          })),
          // A record the mapping cannot turn into a work order: a failed outcome on the record.
          { failedStage: 'mapped', finalFailure: syncFailureFeedback(sfWrite, app.connections) },
        ),
        consume(
          fnEventQueue,
          { 'fn-event': handleFieldNationEvent },
          perVersion((config) => ({ ...events, eventRules: config.eventRules() })),
          {
            failedStage: 'event',
          },
        ),
        consume(
          maintenanceQueue,
          { 'retention-sweep': retentionSweep },
          perVersion((config) => ({ prisma: app.prisma, retention: config.config.retention })),
          { concurrency: 1 },
        ),
      ],
      // Every replica upserts the same scheduler (one id): the clean-up runs once per period.
      schedules: ({ config }) => [
        { queue: maintenanceQueue, schedulers: config.retention.enabled ? [schedulers.retention(config.retention.every)] : [] },
      ],
      started: { mappings: [...mappings.keys()] },
    };
  },
});
