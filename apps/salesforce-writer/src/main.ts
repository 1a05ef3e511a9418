// salesforce-writer: consumes sf.write (everything one cause changes on a Salesforce record, in one
// composite request) and sf.file (a work order's new attachments, copied to Salesforce Files);
// produces nothing. Start-up, ops server and shutdown: runWorkerApp.
import { sfFileQueue, sfWriteQueue } from '@broker/contracts';
import { createFieldNationClients } from '@broker/fieldnation';
import { tryLock } from '@broker/runtime';
import { consume, runWorkerApp } from '@broker/runtime/worker-app';
import { createSalesforceClients } from '@broker/salesforce/client';
import { createFileLinks } from '@broker/store';
import { copyAttachments } from './copy-attachments.processor';
import { writeRecord } from './write-record.processor';

await runWorkerApp({
  service: 'salesforce-writer',
  opsPort: 9104,
  setup: (app) => {
    const clients = createSalesforceClients(app.config.connections, app.logger, app.metrics);
    const writes = consume(
      sfWriteQueue,
      { 'write-record': writeRecord },
      { clients, store: app.store, locks: app.locks, redis: app.redis, prefix: app.prefix },
      { failedStage: 'sf-written' },
    );
    // Files stream through (never held whole): two at a time bounds the sockets and buffers in use.
    const files = consume(
      sfFileQueue,
      { 'copy-attachments': copyAttachments },
      {
        sf: clients,
        fn: createFieldNationClients(app.config.connections, app.logger, app.metrics),
        fileLinks: createFileLinks(app.prisma),
        tryLock: (key: string) => tryLock(app.redis, `${app.prefix}:lock:${key}`),
      },
      { failedStage: 'file', concurrency: 2 },
    );
    return { consumes: [writes, files] };
  },
});
