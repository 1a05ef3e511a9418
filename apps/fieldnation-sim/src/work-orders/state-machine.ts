import { SimError } from '../core/sim-error';
import { STATUS, STATUS_NAMES, SUB_STATUS_DISPLAY, type StatusId, type SubStatus, type WorkOrderRecord } from './work-order.model';

export type WorkflowAction =
  | 'publish'
  | 'unpublish'
  | 'route'
  | 'unroute'
  | 'request'
  | 'decline'
  | 'accept_route'
  | 'assign'
  | 'unassign'
  | 'confirm'
  | 'on_my_way'
  | 'running_late'
  | 'check_in'
  | 'check_out'
  | 'complete'
  | 'incomplete'
  | 'approve'
  | 'pay'
  | 'cancel'
  | 'update'
  | 'update_pay';

const { DRAFT, PUBLISHED, ROUTED, ASSIGNED, WORK_DONE, APPROVED } = STATUS;

interface Rule {
  from: StatusId[];
  /** Allowed Assigned sub-statuses (null = none yet); any when omitted. */
  sub?: Array<SubStatus | null>;
}

/** Which status (and sub-status) each action may start from (reference §4.3). */
const RULES: Record<WorkflowAction, Rule> = {
  publish: { from: [DRAFT] },
  unpublish: { from: [PUBLISHED, ROUTED] },
  route: { from: [DRAFT, PUBLISHED, ROUTED] },
  unroute: { from: [ROUTED] },
  request: { from: [PUBLISHED, ROUTED] },
  decline: { from: [PUBLISHED, ROUTED] },
  accept_route: { from: [ROUTED] },
  assign: { from: [PUBLISHED, ROUTED] },
  unassign: { from: [ASSIGNED] },
  confirm: { from: [ASSIGNED], sub: [null, 'delayed'] },
  on_my_way: { from: [ASSIGNED], sub: [null, 'confirmed', 'delayed'] },
  running_late: { from: [ASSIGNED], sub: [null, 'confirmed', 'on_my_way'] },
  check_in: { from: [ASSIGNED], sub: [null, 'confirmed', 'on_my_way', 'delayed', 'checked_out'] },
  check_out: { from: [ASSIGNED], sub: ['checked_in'] },
  complete: { from: [ASSIGNED] },
  incomplete: { from: [WORK_DONE] },
  approve: { from: [WORK_DONE] },
  pay: { from: [APPROVED] },
  // "Any pre-paid state" (reference §4.3), so Approved too: approved-but-unpaid work can still be called off.
  cancel: { from: [DRAFT, PUBLISHED, ROUTED, ASSIGNED, WORK_DONE, APPROVED] },
  // Paid and cancelled work orders are closed; pay itself freezes at Work Done (reference §4.3).
  update: { from: [DRAFT, PUBLISHED, ROUTED, ASSIGNED, WORK_DONE, APPROVED] },
  update_pay: { from: [DRAFT, PUBLISHED, ROUTED, ASSIGNED] },
};

export function statusDisplay(wo: Pick<WorkOrderRecord, 'statusId' | 'subStatus'>): string {
  const name = STATUS_NAMES[wo.statusId];
  return wo.statusId === ASSIGNED && wo.subStatus ? `${name}: ${SUB_STATUS_DISPLAY[wo.subStatus]}` : name;
}

export function canTransition(wo: WorkOrderRecord, action: WorkflowAction): boolean {
  const rule = RULES[action];
  if (!rule.from.includes(wo.statusId)) return false;
  return !rule.sub || wo.statusId !== ASSIGNED || rule.sub.includes(wo.subStatus);
}

/** Illegal transitions answer 400 `{status, message}` (reference §12.3). */
export function assertTransition(wo: WorkOrderRecord, action: WorkflowAction): void {
  if (!canTransition(wo, action)) {
    throw new SimError(400, `Cannot ${action.replaceAll('_', ' ')} work order ${wo.id}: its status is ${statusDisplay(wo)}`);
  }
}

/** Actions the buyer may take now, for the `actions` array of the work order. */
export function availableActions(wo: WorkOrderRecord): string[] {
  const buyerActions: Array<[WorkflowAction, string]> = [
    ['update', 'edit'],
    ['publish', 'publish'],
    ['unpublish', 'unpublish'],
    ['route', 'route'],
    ['assign', 'assign'],
    ['unassign', 'unassign'],
    ['incomplete', 'incomplete'],
    ['approve', 'approve'],
    ['cancel', 'cancel'],
  ];
  return buyerActions.filter(([a]) => canTransition(wo, a)).map(([, name]) => name);
}
