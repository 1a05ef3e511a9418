// fieldnation-writer: consumes fn.write (make the work order match the record's mapped state, post
// Salesforce comments as work-order messages); produces sf.write (the write-back). Start-up and
// shutdown: runWorkerApp.
import { fnWriteQueue, sfWriteQueue } from '@broker/contracts';
import { createFieldNationClients } from '@broker/fieldnation';
import { syncFailureFeedback } from '@broker/runtime';
import { consume, runWorkerApp } from '@broker/runtime/worker-app';
import { cancelWorkOrder } from './cancel-work-order.processor';
import { postMessage } from './post-message.processor';
import { writeWorkOrder } from './write-work-order.processor';

await runWorkerApp({
  service: 'fieldnation-writer',
  opsPort: 9103,
  setup: (app) => {
    const deps = {
      clients: createFieldNationClients(app.config.connections, app.logger, app.metrics),
      store: app.store,
      sfWriteQueue: app.produce(sfWriteQueue),
      locks: app.locks,
    };
    const handlers = { 'write-work-order': writeWorkOrder, 'post-message': postMessage, 'cancel-work-order': cancelWorkOrder };
    return {
      consumes: [
        consume(fnWriteQueue, handlers, deps, {
          failedStage: (job) => (job.name === 'post-message' ? 'message' : 'written'),
          // A work order that could not be written or cancelled: a failed outcome on the record.
          finalFailure: syncFailureFeedback(deps.sfWriteQueue, app.connections, { jobs: ['write-work-order', 'cancel-work-order'] }),
        }),
      ],
    };
  },
});
