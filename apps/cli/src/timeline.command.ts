import type { Store } from '@broker/store';
import type { CliIo } from './cli-io';
import { normaliseRecordId } from '@broker/salesforce';
import { formatTable } from './text-table';

/** A record's story by Salesforce id or work order id: its correlations, then one line per stage. */
export async function timelineCommand(id: string, store: Store, io: CliIo, options: { connection?: string } = {}): Promise<number> {
  const query = normaliseRecordId(id);
  const correlations = (await store.findCorrelations(query)).filter((c) => !options.connection || c.connectionId === options.connection);
  const rows = await store.timeline(query, options.connection ? { connectionId: options.connection } : {});
  if (correlations.length === 0 && rows.length === 0) {
    io.err(`nothing known about ${query}`);
    return 1;
  }
  if (correlations.length) {
    io.out(
      formatTable(
        ['connection', 'object', 'salesforce id', 'work order', 'state', 'last error'],
        correlations.map((c) => [c.connectionId, c.sfObject, c.sfId, c.workOrderId, c.state, c.lastError]),
      ),
    );
    io.out('');
  }
  io.out(
    formatTable(
      ['time', 'connection', 'stage', 'outcome', 'api calls', 'queue', 'job', 'message'],
      rows.map((r) => [r.at.toISOString(), r.connectionId, r.stage, r.outcome, r.sfApiCalls, r.queue, r.jobId, r.message]),
      100,
    ),
  );
  const calls = rows.reduce((n, r) => n + r.sfApiCalls, 0);
  io.out(`\n${rows.length} stage(s), ${calls} Salesforce API call(s)`);
  return 0;
}
