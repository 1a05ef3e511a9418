import { z } from 'zod';

// ─────────────────────────────────────────────────────────────────────────────────────────────
// Field Nation's domain as the broker uses it: status ids, webhook event names, the webhook body
// (a zod schema: the ingress's job payload and the mapper's input), work-order and message types.
// Field Nation's published OpenAPI and docs are the contract (shared/reference/fieldnation.md);
// the client (libs/fieldnation), the processors, the mapping (structurally) and the simulator
// (apps/fieldnation-sim) all take these from here. Dependency-free like the rest of the contracts.
// ─────────────────────────────────────────────────────────────────────────────────────────────

/** REST v2 status ids (reference §4.2). 8 is unknown and never used. */
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

export type FnStatusId = (typeof FN_STATUS)[keyof typeof FN_STATUS];

/** Status names as REST v2 returns them in `status.name`. */
export const FN_STATUS_NAMES: Record<FnStatusId, string> = {
  1: 'Draft',
  2: 'Published',
  3: 'Assigned',
  4: 'Work Done',
  5: 'Approved',
  6: 'Paid',
  7: 'Cancelled',
  9: 'Routed',
};

/** `draft`, `work_done`…: the suffix of `workorder.status.*` events and the status `code`. */
export const fnStatusCode = (id: FnStatusId): string => FN_STATUS_NAMES[id].toLowerCase().replaceAll(' ', '_');

/** Webhooks v3 event names (reference §8.3, OAS-W enum). */
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
    | {
        mode: 'custom';
        display_name?: string;
        address1: string;
        address2?: string;
        city: string;
        state: string;
        zip: string;
        country: string;
        type?: { id: number };
      }
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

/**
 * A create or update body as the broker sends it: built by a mapping from record fields, so its
 * keys are the mapping's (Field Nation validates them and answers 422). WorkOrderPayload types the
 * documented ones; both fit the client.
 */
export type WorkOrderWrite = WorkOrderPayload | Readonly<Record<string, unknown>>;

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

/**
 * Body of a webhook delivery (reference §8.4): `event.name` and `event.params` (event-specific,
 * `work_order_id` a number or a string), `timestamp`, `triggered_by_user`, and `workorder`, the full
 * REST v2 work order at event time. Loose: every key Field Nation adds is kept, and only what the
 * broker reads is typed; the message of `workorder.message_posted` has no documented key (see
 * readWebhookMessage in libs/mapping).
 */
export const FieldNationWebhookBodySchema = z.looseObject({
  event: z.looseObject({
    name: z.string().min(1),
    params: z.record(z.string(), z.unknown()).optional(),
  }),
  /** ISO 8601 with offset as documented; checked by the ingress (checkWebhookTimestamp), which names what is wrong. */
  timestamp: z.unknown().optional(),
  triggered_by_user: z.looseObject({ id: z.union([z.number(), z.string()]).optional() }).optional(),
  workorder: z.looseObject({ id: z.union([z.number(), z.string()]).optional() }).optional(),
});

export type FieldNationWebhookPayload = z.infer<typeof FieldNationWebhookBodySchema>;

/** Value of a custom field in a work order's nested `custom_fields` object. */
export function customFieldValue(workOrder: Pick<WorkOrder, 'custom_fields'>, fieldId: number): string | undefined {
  for (const category of workOrder.custom_fields?.results ?? []) {
    const hit = category.results?.find((f) => Number(f.id) === fieldId);
    if (hit) return hit.value ?? '';
  }
  return undefined;
}
