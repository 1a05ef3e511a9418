/**
 * The stages of a record's journey, as the timeline stores them (timeline_entry.stage). A closed
 * list: the store writes only these, the dashboard's timeline page and the CLI read them. Stored
 * rows keep their text, so a stage is never renamed, only added.
 */
export const STAGES = {
  /** salesforce-fetcher: the notification (Outbound Message, reconciliation, resync) arrived. */
  received: 'received',
  /** salesforce-fetcher: the record was read (or the read was skipped: redelivery, coalesced). */
  fetched: 'fetched',
  /** salesforce-fetcher: the record does not match its object's trigger; nothing goes to Field Nation. */
  'not-triggered': 'not-triggered',
  /** salesforce-fetcher: the reconciliation sweep found the record and queued a fetch. */
  reconciled: 'reconciled',
  /** mapper: the record became a work-order state (or was unchanged). */
  mapped: 'mapped',
  /** mapper / fieldnation-writer: a CaseComment became a work-order message. */
  message: 'message',
  /** fieldnation-writer: the work order was created, updated or found unchanged. */
  written: 'written',
  /** mapper: a Field Nation webhook event was applied (or skipped) by the event rules. */
  event: 'event',
  /** salesforce-writer: fields or a comment were written to the Salesforce record. */
  'sf-written': 'sf-written',
  /** any worker: the job waited for an unavailable dependency without spending attempts. */
  waited: 'waited',
  /** dashboard: an operator sent a failed job back to its queue. */
  'replay-requested': 'replay-requested',
  /** dashboard / CLI: an operator asked for the record to be fetched again. */
  'resync-requested': 'resync-requested',
} as const;

export type Stage = keyof typeof STAGES;
export const STAGE_NAMES = Object.keys(STAGES) as Stage[];

/** How a stage ended: done, skipped on purpose, failed for good, or failed and retried. */
export const STAGE_OUTCOMES = ['ok', 'skipped', 'failed', 'retry'] as const;
export type StageOutcome = (typeof STAGE_OUTCOMES)[number];

export const isStage = (s: string): s is Stage => Object.prototype.hasOwnProperty.call(STAGES, s);
