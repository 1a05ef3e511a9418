import { FN_WEBHOOK_EVENTS, type FieldNationEventName } from '@broker/contracts/fieldnation';
import type { SimUser } from './catalogue';

/** Label and description of each of the 33 Webhooks v3 events (reference §8.3, OAS-W enum). */
const EVENT_TEXT = [
  ['workorder.created', 'Created', 'A work order was created'],
  ['workorder.routed', 'Routed to provider', 'A work order was routed to a provider (once per provider)'],
  ['workorder.requested', 'Requested', 'A provider requested the work order'],
  ['workorder.declined', 'Declined', 'A provider declined the work order'],
  ['workorder.undeclined', 'Undeclined', 'A provider decline was withdrawn'],
  ['workorder.task_completed', 'Task completed', 'A task was completed (check-in and check-out are tasks)'],
  ['workorder.task_incomplete', 'Task incomplete', 'A task was marked incomplete'],
  ['workorder.provider_upload', 'Provider upload', 'A provider uploaded a file'],
  ['workorder.message_posted', 'Message posted', 'A message or a reply was posted'],
  ['workorder.custom_field_value_updated', 'Custom field updated', 'A custom field value changed'],
  ['workorder.schedule_updated', 'Schedule updated', 'The schedule changed'],
  ['workorder.tag_added', 'Tag added', 'A tag was added'],
  ['workorder.tag_removed', 'Tag removed', 'A tag was removed'],
  ['workorder.problem_reported', 'Problem reported', 'A problem was reported or reopened'],
  ['workorder.problem_resolved', 'Problem resolved', 'A problem was resolved'],
  ['workorder.part_updated', 'Part updated', 'A part or shipment changed'],
  ['workorder.status.draft', 'Draft', 'Status changed to Draft'],
  ['workorder.status.published', 'Published', 'Status changed to Published'],
  // The reference's "once per WO" contrasts it with workorder.routed (per provider); the status can
  // become Routed again (after an unassign or unpublish), and each such change is a status event.
  ['workorder.status.routed', 'Routed', 'Status changed to Routed (once per change of status, not per provider)'],
  ['workorder.status.assigned', 'Assigned', 'Status changed to Assigned'],
  ['workorder.status.confirmed', 'Confirmed', 'The provider confirmed'],
  ['workorder.status.assigned_cancelled', 'Assignment cancelled', 'The assignment was cancelled'],
  ['workorder.status.at_risk', 'At risk', 'The assignment is at risk'],
  ['workorder.status.delayed', 'Delayed', 'The provider is running late'],
  ['workorder.status.on_my_way', 'On my way', 'The provider is on the way'],
  ['workorder.status.checked_in', 'Checked in', 'The provider checked in'],
  ['workorder.status.checked_out', 'Checked out', 'The provider checked out'],
  ['workorder.status.work_done', 'Work done', 'Status changed to Work Done'],
  ['workorder.status.approved', 'Approved', 'Status changed to Approved'],
  ['workorder.status.paid', 'Paid', 'Status changed to Paid'],
  ['workorder.status.cancelled', 'Cancelled', 'Status changed to Cancelled'],
  ['workorder.status.deleted', 'Deleted', 'The work order was deleted'],
  ['workorder.status.postponed', 'Postponed', 'The work order was postponed'],
] as const satisfies readonly (readonly [FieldNationEventName, string, string])[];

/** An event of the domain without a row above is a compile error here. */
type Undescribed = Exclude<FieldNationEventName, (typeof EVENT_TEXT)[number][0]>;
const everyEventDescribed: [Undescribed] extends [never] ? true : Undescribed = true;
void everyEventDescribed;

const textOf = new Map<string, readonly [FieldNationEventName, string, string]>(EVENT_TEXT.map((row) => [row[0], row]));

/** The event catalogue, in the domain's order. */
export const EVENT_CATALOGUE: Array<{ name: FieldNationEventName; label: string; description: string }> = FN_WEBHOOK_EVENTS.map((name) => ({
  name,
  label: textOf.get(name)![1],
  description: textOf.get(name)![2],
}));

export const EVENT_NAMES: ReadonlySet<string> = new Set(FN_WEBHOOK_EVENTS);

export interface EventSpec {
  name: string;
  params: Record<string, unknown>;
}

/** What one mutation produced: the events in order, who did it, and the work order afterwards. */
export interface EmittedBatch {
  workOrderId: number;
  events: EventSpec[];
  actor: SimUser;
  at: number;
  /** Rendered once after the mutation: every event of the batch carries the same snapshot. */
  workorder: Record<string, unknown>;
}

export type EventSink = (batch: EmittedBatch) => void;
