// fieldnation-writer: consumes fn.write (make the work order match the record's mapped state, post
// Salesforce comments as work-order messages) and fn.file (a Salesforce file uploaded to the work
// order); produces sf.write (the write-back). Start-up and shutdown: runWorkerApp.
import { fnFileQueue, fnWriteQueue, sfWriteQueue } from '@broker/contracts';
import { createFieldNationClients } from '@broker/fieldnation';
import { syncFailureFeedback, tryLock } from '@broker/runtime';
import { consume, runWorkerApp } from '@broker/runtime/worker-app';
import { createSalesforceClients } from '@broker/salesforce/client';
import { createFileLinks } from '@broker/store';
import { cancelWorkOrder } from './cancel-work-order.processor';
import { copyFile } from './copy-file.processor';
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
    // Files stream through (never held whole): two at a time bounds the sockets and buffers in use.
    // The Salesforce client (jsforce, loaded at its first login) is made only for connections that copy files.
    const files = consume(
      fnFileQueue,
      { 'copy-file': copyFile },
      {
        sf: createSalesforceClients(
          app.config.connections.filter((c) => c.files.toFieldNation),
          app.logger,
          app.metrics,
        ),
        fn: deps.clients,
        fileLinks: createFileLinks(app.prisma),
        tryLock: (key: string) => tryLock(app.redis, `${app.prefix}:lock:${key}`),
      },
      { failedStage: 'file', concurrency: 2 },
    );
    return {
      consumes: [
        consume(fnWriteQueue, handlers, deps, {
          failedStage: (job) => (job.name === 'post-message' ? 'message' : 'written'),
          // A work order that could not be written or cancelled: a failed outcome on the record.
          finalFailure: syncFailureFeedback(deps.sfWriteQueue, app.connections, { jobs: ['write-work-order', 'cancel-work-order'] }),
        }),
        files,
      ],
    };
  },
});
