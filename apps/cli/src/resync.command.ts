import { enqueue, fetchJobId, type QueueOf, sfFetchQueue } from '@broker/contracts';
import type { Store } from '@broker/store';
import { CliError, type CliIo } from './cli-io';
import { normaliseRecordId } from '@broker/salesforce';

export interface ResyncOptions {
  connection?: string;
  /** Needed only for a record the broker has never seen (no correlation tells its object). */
  object?: string;
  now?: Date;
}

/**
 * Queue a fresh read of a record (an `sf.fetch` job with source `resync`), as the dashboard's
 * Re-sync button does. The job id carries the time so each request is a new job.
 */
export async function resyncCommand(
  sfIdInput: string,
  fetchQueue: QueueOf<typeof sfFetchQueue>,
  store: Store,
  options: ResyncOptions,
  io: CliIo,
): Promise<number> {
  const sfId = normaliseRecordId(sfIdInput);
  if (!/^[a-zA-Z0-9]{18}$/.test(sfId)) throw new CliError(`"${sfIdInput}" is not a Salesforce id`);
  let targets = (await store.findCorrelations(sfId)).filter((c) => !options.connection || c.connectionId === options.connection);
  if (targets.length === 0) {
    if (!options.connection || !options.object) {
      throw new CliError(
        `no correlation for ${sfId}${options.connection ? ` in ${options.connection}` : ''}: pass --connection and --object to sync a record the broker has not seen`,
      );
    }
    targets = [{ connectionId: options.connection, sfObject: options.object, sfId } as (typeof targets)[number]];
  }
  if (targets.length > 1) {
    throw new CliError(
      `${sfId} is synced by ${targets.length} connections (${targets.map((t) => t.connectionId).join(', ')}): choose one with --connection`,
    );
  }
  const target = targets[0]!;
  const now = options.now ?? new Date();
  const id = fetchJobId.resync(target.connectionId, sfId, now);
  await enqueue(
    fetchQueue,
    'fetch-record',
    {
      connectionId: target.connectionId,
      sfObject: target.sfObject,
      sfId,
      notificationId: id,
      source: 'resync',
      receivedAt: now.toISOString(),
      snapshot: {},
    },
    { jobId: id },
  );
  await store.recordStage({
    connectionId: target.connectionId,
    sfId,
    stage: 'resync-requested',
    outcome: 'ok',
    queue: fetchQueue.name,
    jobId: id,
    message: 're-sync requested from the CLI',
  });
  io.out(`queued ${target.sfObject} ${sfId} (${target.connectionId}) for re-sync: job ${id} on ${fetchQueue.name}`);
  return 0;
}
