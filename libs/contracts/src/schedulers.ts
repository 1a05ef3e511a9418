import { jobId } from './define-queue';
import {
  maintenanceQueue,
  sfChatterQueue,
  sfFilePollQueue,
  sfReconcileQueue,
  type ChatterSweepJob,
  type PollSalesforceFilesJob,
  type ReconcileJob,
  type RetentionSweepJob,
} from './queues';
import type { z } from 'zod';

/**
 * A BullMQ job scheduler: a repeating job under a fixed id on one queue. The ids are persistent
 * (a scheduler upserted under another id would run beside the old one): DO NOT CHANGE them.
 */
export interface JobScheduler<Name extends string = string, Data = unknown> {
  queue: string;
  id: string;
  /** Cron pattern, from the configuration. */
  pattern: string;
  job: { name: Name; data: Data };
}

/** The schedulers the broker keeps; the apps that own them upsert these and remove any other on the queue. */
export const schedulers = {
  /** salesforce-fetcher: one reconciliation sweep per connection and triggered object. */
  reconcile: (connectionId: string, sfObject: string, pattern: string): JobScheduler<'sweep', z.input<typeof ReconcileJob>> => ({
    queue: sfReconcileQueue.name,
    id: jobId('reconcile', connectionId, sfObject),
    pattern,
    job: { name: 'sweep', data: { connectionId, sfObject } },
  }),
  /** salesforce-fetcher: the Chatter sweep of one connection (its objects with `messageChannel: chatter`). */
  chatter: (connectionId: string, pattern: string): JobScheduler<'chatter-sweep', z.input<typeof ChatterSweepJob>> => ({
    queue: sfChatterQueue.name,
    id: jobId('chatter', connectionId),
    pattern,
    job: { name: 'chatter-sweep', data: { connectionId } },
  }),
  /** mapper: the retention clean-up, one for the whole broker whatever the number of replicas. */
  retention: (pattern: string): JobScheduler<'retention-sweep', z.input<typeof RetentionSweepJob>> => ({
    queue: maintenanceQueue.name,
    id: 'retention',
    pattern,
    job: { name: 'retention-sweep', data: {} },
  }),
  /** salesforce-fetcher: the poll for new Salesforce files, one per connection with `files.toFieldNation`. */
  filePoll: (connectionId: string, pattern: string): JobScheduler<'poll-files', z.input<typeof PollSalesforceFilesJob>> => ({
    queue: sfFilePollQueue.name,
    id: jobId('file-poll', connectionId),
    pattern,
    job: { name: 'poll-files', data: { connectionId } },
  }),
} as const;
