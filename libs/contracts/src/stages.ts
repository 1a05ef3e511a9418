/**
 * The stages of a record's journey, as the timeline stores them (timeline_entry.stage), each with
 * what it means. A closed list: the store writes only these, the dashboard's timeline page and the
 * CLI read them. Stored rows keep their text, so a stage is never renamed, only added.
 */
export const STAGES = {
  received: 'salesforce-fetcher: a notification arrived (Outbound Message, reconciliation or re-sync), or the Chatter sweep found a post',
  fetched: 'salesforce-fetcher: the record was read with one query (or skipped: redelivery, covered by a later fetch)',
  'not-triggered': "salesforce-fetcher: the record does not match its object's trigger; nothing goes to Field Nation",
  reconciled: 'salesforce-fetcher: a reconciliation sweep found the record unsynced or changed, and queued a fetch',
  mapped: 'mapper: the record became a work-order state (or was unchanged since the last sync)',
  message: 'mapper, fieldnation-writer: a CaseComment or Chatter post became a work-order message (or was skipped as an echo)',
  written: 'fieldnation-writer: the work order was created, updated or found unchanged',
  event: 'mapper: a Field Nation webhook event went through the event rules',
  'sf-written': 'salesforce-writer: fields or a comment were written to the Salesforce record',
  waited: 'any worker: the job waited for an unavailable dependency without spending attempts',
  'replay-requested': 'dashboard: an operator sent a failed job back to its queue',
  'resync-requested': 'dashboard, CLI: an operator asked for the record to be fetched again',
  file: 'salesforce-writer, fieldnation-writer: a file was copied between the work order and the record (or skipped: too large, type not allowed, an echo)',
} as const satisfies Record<string, string>;

export type Stage = keyof typeof STAGES;
export const STAGE_NAMES = Object.keys(STAGES) as Stage[];

/** How a stage ended: done, skipped on purpose, failed for good, or failed and retried. */
export const STAGE_OUTCOMES = ['ok', 'skipped', 'failed', 'retry'] as const;
export type StageOutcome = (typeof STAGE_OUTCOMES)[number];

export const isStage = (s: string): s is Stage => Object.prototype.hasOwnProperty.call(STAGES, s);

/** What a stored stage means; empty for a text no release wrote through this list. */
export const describeStage = (s: string): string => (isStage(s) ? STAGES[s] : '');

/** One timeline row as the pipeline writes it (the store's recordStage; the job context fills it in). */
export interface StageRecord {
  connectionId: string;
  sfId?: string | null;
  workOrderId?: number | null;
  stage: Stage;
  outcome: StageOutcome;
  queue?: string;
  jobId?: string;
  message?: string;
  sfApiCalls?: number;
  /** Stored as JSON. */
  detail?: Record<string, unknown>;
  at?: Date;
  /** The configuration the job ran with: a stored version ("7") or "file:<hash>" (timeline_entry.config_version). */
  configVersion?: string | null;
}
