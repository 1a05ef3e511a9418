/** REST v2 status ids (reference §4.2). */
export const FN_STATUS = {
  DRAFT: 1,
  PUBLISHED: 2,
  ASSIGNED: 3,
  WORK_DONE: 4,
  APPROVED: 5,
  PAID: 6,
  CANCELLED: 7,
  ROUTED: 9,
} as const;

/** Webhooks v3 event names (reference §8.3). */
export const FN_WEBHOOK_EVENTS = [
  'workorder.created',
  'workorder.routed',
  'workorder.requested',
  'workorder.declined',
  'workorder.undeclined',
  'workorder.task_completed',
  'workorder.task_incomplete',
  'workorder.provider_upload',
  'workorder.message_posted',
  'workorder.custom_field_value_updated',
  'workorder.schedule_updated',
  'workorder.tag_added',
  'workorder.tag_removed',
  'workorder.problem_reported',
  'workorder.problem_resolved',
  'workorder.part_updated',
  'workorder.status.draft',
  'workorder.status.published',
  'workorder.status.routed',
  'workorder.status.assigned',
  'workorder.status.confirmed',
  'workorder.status.assigned_cancelled',
  'workorder.status.at_risk',
  'workorder.status.delayed',
  'workorder.status.on_my_way',
  'workorder.status.checked_in',
  'workorder.status.checked_out',
  'workorder.status.work_done',
  'workorder.status.approved',
  'workorder.status.paid',
  'workorder.status.cancelled',
  'workorder.status.deleted',
  'workorder.status.postponed',
] as const;

export type FieldNationEventName = (typeof FN_WEBHOOK_EVENTS)[number];

export interface FnDateTimeInput {
  /** `YYYY-MM-DD HH:MM:SS` in UTC. */
  utc: string;
}

export interface CustomFieldValueInput {
  id: number;
  value: string;
}

/** Create/update body (reference §5). Only `title` is required on create; unknown keys pass through. */
export interface WorkOrderPayload {
  title?: string;
  description?: { html: string } | string;
  confidential?: { html: string } | string;
  types_of_work?: Array<{ id: number; isPrimary?: boolean }>;
  type_of_work?: { id: number };
  service_types?: Array<{ id: number }>;
  template?: { id: number };
  project?: { id: number };
  client?: { id: number };
  manager?: { id: number };
  location?:
    | { mode: 'custom'; display_name?: string; address1: string; address2?: string; city: string; state: string; zip: string; country: string; type?: { id: number } }
    | { mode: 'location'; saved_location: { id: number } }
    | { mode: 'remote' };
  schedule?: {
    service_window: { mode: 'exact' | 'hours' | 'between'; start: FnDateTimeInput; end?: FnDateTimeInput };
    schedule_note?: string;
    time_zone?: { id: number };
  };
  require_ontime?: boolean;
  pay?: {
    type: 'fixed' | 'hourly' | 'device' | 'blended';
    base: { amount: number; units?: number };
    additional?: { amount: number; units: number };
  };
  contacts?: { results: Array<{ name: string; role?: string; phone?: string; ext?: string; email?: string; notes?: string }> };
  custom_fields?: { results: Array<{ results: CustomFieldValueInput[] }> };
  incident_id?: string;
  [key: string]: unknown;
}

export interface FnStatus {
  id: number;
  name: string;
  display?: string;
  sub_status?: string | null;
  [key: string]: unknown;
}

export interface CustomFieldWithValue {
  id: number;
  name: string;
  value: string;
  [key: string]: unknown;
}

/** The REST v2 work order object (reference §6); only the fields the broker reads are typed. */
export interface WorkOrder {
  id: number;
  title: string;
  status: FnStatus;
  incident_id?: string | null;
  custom_fields?: { results: Array<{ id?: number; results: CustomFieldWithValue[] }> };
  assignee?: { user?: { id: number; first_name?: string; last_name?: string } };
  /** Lifecycle timestamps (OAS-R `MilestonesDto`, rest-v2.yaml 7946-7950: `created.utc`). */
  milestones?: { created?: { utc?: string | null } | null; [key: string]: unknown } | null;
  [key: string]: unknown;
}

export interface FnMessage {
  msg_id: string;
  parent_id: string | null;
  from: { id: number; name?: string; role?: string };
  message: string;
  created?: { utc: string };
  replies?: FnMessage[];
  [key: string]: unknown;
}

export interface CustomFieldDefinition {
  id: number;
  name: string;
  type: string;
  role?: string;
  flags?: string[];
  options?: string[];
  [key: string]: unknown;
}

export type WebhookMethod = 'post' | 'put';

export interface WebhookInput {
  url: string;
  events: string[];
  method?: WebhookMethod;
  status?: 'active' | 'inactive' | 'archived';
  secret?: string;
  notificationEmail?: string;
  webhookAttribute?: { header?: Record<string, string> };
  [key: string]: unknown;
}

export interface Webhook {
  id: number;
  webhookId: string;
  url: string;
  events: string[];
  method: WebhookMethod;
  status: string;
  secret?: string;
  [key: string]: unknown;
}

/** Body of a webhook delivery (reference §8.4). */
export interface FieldNationWebhookPayload {
  event: { name: string; params: Record<string, unknown> & { work_order_id?: number | string } };
  timestamp: string;
  triggered_by_user?: { id: number; [key: string]: unknown };
  workorder: WorkOrder;
}

/** Value of a custom field in a work order's nested `custom_fields` object. */
export function customFieldValue(workOrder: Pick<WorkOrder, 'custom_fields'>, fieldId: number): string | undefined {
  for (const category of workOrder.custom_fields?.results ?? []) {
    const hit = category.results?.find((f) => Number(f.id) === fieldId);
    if (hit) return hit.value ?? '';
  }
  return undefined;
}
