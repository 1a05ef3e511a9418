// mapper: consumes map (a fetched record becomes a work-order state or a message), fn.event (Field
// Nation webhooks through the event rules) and maintenance (retention, one scheduler for the whole
// broker); produces fn.write and sf.write. Start-up and shutdown: runWorkerApp.
import { fnEventQueue, fnWriteQueue, maintenanceQueue, mapQueue, schedulers, sfWriteQueue } from '@broker/contracts';
import { createFieldNationClients } from '@broker/fieldnation';
import { syncFailureFeedback } from '@broker/runtime';
import { consume, runWorkerApp } from '@broker/runtime/worker-app';
import { handleFieldNationEvent } from './fn-event.processor';
import { mapRecord } from './map-record.processor';
import { retentionSweep } from './retention-sweep.processor';

await runWorkerApp({
  service: 'mapper',
  opsPort: 9102,
  databasePool: (concurrency) => Math.min(concurrency * 2 + 2, 40),
  setup: (app) => {
    // Mappings compile here: a broken one stops the app (exit 78) with the file and entry named.
    const mappings = app.mappings();
    // Field Nation is read only for message events whose body carries no message text.
    const fieldNation = createFieldNationClients(app.config.connections, app.logger, app.metrics);
    const sfWrite = app.produce(sfWriteQueue);
    const events = {
      eventRules: app.eventRules(),
      store: app.store,
      sfWriteQueue: sfWrite,
      listMessages: (connectionId: string, workOrderId: number) => fieldNation.get(connectionId)!.listMessages(workOrderId),
    };
    return {
      consumes: [
        consume(
          mapQueue,
          { 'map-record': mapRecord },
          { mappings, store: app.store, fnWriteQueue: app.produce(fnWriteQueue), sfWriteQueue: sfWrite, locks: app.locks },
          // A record the mapping cannot turn into a work order: a failed outcome on the record.
          { failedStage: 'mapped', finalFailure: syncFailureFeedback(sfWrite, app.connections) },
        ),
        consume(fnEventQueue, { 'fn-event': handleFieldNationEvent }, events, { failedStage: 'event' }),
        consume(
          maintenanceQueue,
          { 'retention-sweep': retentionSweep },
          { prisma: app.prisma, retention: app.config.retention },
          { concurrency: 1 },
        ),
      ],
      // Every replica upserts the same scheduler (one id): the clean-up runs once per period.
      schedules: [
        { queue: maintenanceQueue, schedulers: app.config.retention.enabled ? [schedulers.retention(app.config.retention.every)] : [] },
      ],
      started: { mappings: [...mappings.keys()] },
    };
  },
});
