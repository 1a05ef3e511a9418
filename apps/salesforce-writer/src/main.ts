// salesforce-writer: consumes sf.write (everything one cause changes on a Salesforce record, in one
// composite request); produces nothing. Start-up, ops server and shutdown: runWorkerApp.
import { sfWriteQueue } from '@broker/contracts';
import { consume, runWorkerApp } from '@broker/runtime/worker-app';
import { createSalesforceClients } from '@broker/salesforce/client';
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
    return { consumes: [writes] };
  },
});
