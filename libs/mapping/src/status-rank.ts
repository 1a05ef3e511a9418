/**
 * Position of a work-order status event in Field Nation's lifecycle (reference §4.3): higher means
 * later. Webhooks arrive roughly but not strictly in order, so the caller compares event time first
 * and, for equal times, the rank, and refuses to let an older status overwrite a newer one.
 * Undefined for events that are not status changes.
 */
export const STATUS_EVENT_RANKS: Readonly<Record<string, number>> = Object.freeze({
  'workorder.status.draft': 10,
  'workorder.status.published': 20,
  'workorder.status.routed': 30,
  'workorder.status.assigned_cancelled': 35,
  'workorder.status.assigned': 40,
  'workorder.status.at_risk': 42,
  'workorder.status.delayed': 43,
  'workorder.status.postponed': 44,
  'workorder.status.confirmed': 45,
  'workorder.status.on_my_way': 50,
  'workorder.status.checked_in': 60,
  'workorder.status.checked_out': 70,
  'workorder.status.work_done': 80,
  'workorder.status.approved': 90,
  'workorder.status.paid': 100,
  'workorder.status.cancelled': 110,
  'workorder.status.deleted': 120,
});

export function statusRank(eventName: string): number | undefined {
  return STATUS_EVENT_RANKS[eventName];
}

export const isStatusEvent = (eventName: string): boolean => eventName.startsWith('workorder.status.');
