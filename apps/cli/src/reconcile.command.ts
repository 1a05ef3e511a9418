import { enqueue, reconcileJobId, type QueueOf, type sfReconcileQueue } from '@broker/contracts';
import type { BrokerConfig } from '@broker/config';
import { CliError, type CliIo } from './cli-io';

export interface ReconcileOptions {
  connection?: string;
  object?: string;
  windowHours?: number;
  now?: Date;
}

/**
 * Queue a reconciliation sweep now (the same job the scheduler runs every `reconciliation.every`):
 * salesforce-fetcher finds records matching the trigger that never synced and feeds them in.
 */
export async function reconcileCommand(
  config: BrokerConfig,
  queue: QueueOf<typeof sfReconcileQueue>,
  options: ReconcileOptions,
  io: CliIo,
): Promise<number> {
  const connections = config.connections.filter((c) => !options.connection || c.id === options.connection);
  if (connections.length === 0) throw new CliError(`no connection ${options.connection}`);
  const now = (options.now ?? new Date()).getTime();
  let queued = 0;
  for (const c of connections) {
    for (const [object, oc] of Object.entries(c.objects)) {
      if (options.object && object !== options.object) continue;
      if (!oc.trigger) continue;
      const id = reconcileJobId.now(c.id, object, now);
      await enqueue(
        queue,
        'sweep',
        { connectionId: c.id, sfObject: object, ...(options.windowHours ? { windowHours: options.windowHours } : {}) },
        { jobId: id },
      );
      io.out(`queued a reconciliation sweep of ${c.id}/${object}: job ${id} on ${queue.name}`);
      queued++;
    }
  }
  if (queued === 0) throw new CliError('nothing to reconcile: no matching object has a `trigger` condition in the config');
  return 0;
}
