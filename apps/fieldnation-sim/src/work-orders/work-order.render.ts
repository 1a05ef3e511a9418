import { fnDateTime, zoneForState } from '../core/date-time';
import {
  CLIENTS,
  COMPANY,
  CUSTOM_FIELDS,
  PROJECTS,
  SAVED_LOCATIONS,
  TEMPLATES,
  TYPES_OF_WORK,
  findUser,
  type CustomFieldDefinition,
  type SimUser,
} from './catalogue';
import { availableActions, statusDisplay } from './state-machine';
import { STATUS, STATUS_NAMES, statusCode, type MessageRecord, type WorkOrderRecord } from './work-order.model';

/** Sub-collections share the `{metadata, results, actions, correlation_id}` envelope (reference §2). */
export function collection<T>(results: T[], actions: string[] = []) {
  return {
    metadata: { total: results.length, page: 1, pages: 1, per_page: Math.max(results.length, 25) },
    results,
    actions,
    correlation_id: correlationId(),
  };
}

const correlationId = () => crypto.randomUUID().replaceAll('-', '') + crypto.randomUUID().slice(0, 8);

export const userSummary = (u: SimUser) => ({ id: u.id, first_name: u.first_name, last_name: u.last_name, email: u.email });

export function workOrderZone(wo: WorkOrderRecord): string {
  if (wo.location?.mode === 'location') {
    return zoneForState(SAVED_LOCATIONS.find((l) => l.id === wo.location?.saved_location?.id)?.state);
  }
  return wo.location?.mode === 'custom' ? zoneForState(wo.location.state) : COMPANY.time_zone;
}

export function renderStatus(wo: WorkOrderRecord) {
  return {
    id: wo.statusId,
    name: STATUS_NAMES[wo.statusId],
    display: statusDisplay(wo),
    // rest-v2.yaml requires sub_status as a string: empty outside Assigned [I].
    sub_status: wo.statusId === STATUS.ASSIGNED ? (wo.subStatus ?? '') : '',
    code: wo.statusId === STATUS.ASSIGNED && wo.subStatus ? wo.subStatus : statusCode(wo.statusId),
    is_routed: wo.routes.length > 0,
    delay: wo.delaySeconds,
    ncns: false,
    confirmed: wo.statusId === STATUS.ASSIGNED && wo.subStatus !== null && wo.subStatus !== 'delayed',
    correlation_id: correlationId(),
  };
}

const CATEGORY_NAMES = { 1: 'Buyer fields', 2: 'Provider fields' } as const;

/** One field of a work order (CustomFieldsResultDto: `category` a string, the category's name). */
export function renderCustomField(def: CustomFieldDefinition, wo: WorkOrderRecord) {
  const { category, ...rest } = def;
  return { ...rest, category: CATEGORY_NAMES[category], value: wo.customFieldValues.get(def.id) ?? '' };
}

export function renderCustomFields(wo: WorkOrderRecord) {
  const category = (id: 1 | 2, name: string, role: string) => ({
    id,
    name,
    role,
    results: CUSTOM_FIELDS.filter((d) => d.category === id)
      .sort((a, b) => a.order - b.order)
      .map((d) => ({
        id: d.id,
        name: d.name,
        tip: d.tip,
        type: d.type,
        role: d.role,
        options: d.options,
        flags: d.flags,
        order: d.order,
        value: wo.customFieldValues.get(d.id) ?? '',
      })),
  });
  return collection([category(1, CATEGORY_NAMES[1], 'buyer'), category(2, CATEGORY_NAMES[2], 'assigned_provider')], ['edit']);
}

export function renderMessage(m: MessageRecord, all: MessageRecord[], zone: string): Record<string, unknown> {
  // rest-v2.yaml types parent_id, to and from.thumbnail as string/object, never null: absent ones are left out.
  return {
    msg_id: m.msg_id,
    ...(m.parent_id !== null ? { parent_id: m.parent_id } : {}),
    from: { id: m.from.id, name: m.from.name, role: m.from.role },
    ...(m.to ? { to: m.to } : {}),
    role: m.from.role,
    type: m.type,
    message: m.message,
    read: m.read,
    created: fnDateTime(m.created, zone),
    replies: all
      .filter((r) => r.parent_id === m.msg_id)
      .sort((a, b) => b.created - a.created || b.msg_id.localeCompare(a.msg_id))
      .map((r) => renderMessage(r, all, zone)),
    actions: m.parent_id ? [] : ['reply'],
  };
}

/** Thread view, newest first (reference §7). */
export function renderMessages(wo: WorkOrderRecord) {
  const zone = workOrderZone(wo);
  const top = wo.messages.filter((m) => m.parent_id === null).sort((a, b) => b.created - a.created || Number(b.msg_id) - Number(a.msg_id));
  return collection(
    top.map((m) => renderMessage(m, wo.messages, zone)),
    ['add'],
  );
}

const named = (list: Array<{ id: number; name: string }>, id: number | undefined) => {
  if (id === undefined) return null;
  const hit = list.find((x) => x.id === id);
  return { id, name: hit?.name ?? null };
};

/** The full REST v2 work order object (reference §6), also the `workorder` of webhook payloads. */
export function renderWorkOrder(wo: WorkOrderRecord, baseUrl: string): Record<string, unknown> {
  const zone = workOrderZone(wo);
  const assignee = wo.assigneeId !== null ? findUser(wo.assigneeId) : undefined;
  const manager = findUser(wo.manager.id);
  const primary = wo.types_of_work.find((t) => t.isPrimary) ?? wo.types_of_work[0];
  const provider = (id: number) => {
    const u = findUser(id);
    return u ? userSummary(u) : { id };
  };
  const savedLocation =
    wo.location?.mode === 'location' ? SAVED_LOCATIONS.find((l) => l.id === wo.location?.saved_location?.id) : undefined;
  const window = wo.schedule?.service_window;

  const rendered: Record<string, unknown> = {
    id: wo.id,
    work_order_id: wo.id,
    title: wo.title,
    href: `${baseUrl}/api/rest/v2/workorders/${wo.id}`,
    status: renderStatus(wo),
    description: wo.description ?? { html: '' },
    confidential: wo.confidential ?? { html: '' },
    policy_and_procedures: wo.policy_and_procedures ?? { html: '' },
    standard_instructions: wo.standard_instructions ?? { html: '' },
    type_of_work: primary ? named(TYPES_OF_WORK, primary.id) : null,
    types_of_work: wo.types_of_work.map((t) => ({ ...named(TYPES_OF_WORK, t.id), isPrimary: t.isPrimary })),
    service_types: wo.service_types.map((s) => {
      const hit = TYPES_OF_WORK.flatMap((t) => t.service_types).find((x) => x.id === s.id);
      return { id: s.id, name: hit?.name ?? null };
    }),
    company: { id: COMPANY.id, name: COMPANY.name },
    client: named(CLIENTS, wo.client?.id),
    project: named(PROJECTS, wo.project?.id),
    template: named(TEMPLATES, wo.template?.id),
    manager: manager ? userSummary(manager) : { id: wo.manager.id },
    assignee: assignee
      ? {
          user: userSummary(assignee),
          role: 'provider',
          status_id: wo.statusId,
          work_order_id: wo.id,
          correlation_id: correlationId(),
          actions: [],
        }
      : { user: { id: 0 }, work_order_id: wo.id, actions: [] },
    location: wo.location
      ? {
          ...(savedLocation
            ? {
                display_name: savedLocation.display_name,
                address1: savedLocation.address1,
                city: savedLocation.city,
                state: savedLocation.state,
                zip: savedLocation.zip,
                country: savedLocation.country,
              }
            : {}),
          ...wo.location,
          time_zone: { name: zone },
          work_order_id: wo.id,
          status_id: wo.statusId,
          correlation_id: correlationId(),
        }
      : null,
    schedule: window
      ? {
          service_window: {
            mode: window.mode,
            start: fnDateTime(window.start, zone),
            ...(window.end !== null ? { end: fnDateTime(window.end, zone) } : {}),
          },
          schedule_note: wo.schedule?.schedule_note ?? '',
          time_zone: wo.schedule?.time_zone ?? { name: zone },
          require_ontime: wo.require_ontime,
          correlation_id: correlationId(),
        }
      : null,
    pay: wo.pay ? { ...wo.pay, correlation_id: correlationId() } : null,
    contacts: collection(wo.contacts),
    custom_fields: renderCustomFields(wo),
    tasks: collection(
      wo.tasks.map((t) => ({
        id: t.id,
        type: t.type,
        label: t.label,
        status: t.status,
        ...(t.completed_at !== null ? { completed: fnDateTime(t.completed_at, zone) } : {}),
      })),
    ),
    time_logs: {
      ...collection(
        // A technician still on site has no check-out yet: `out` (an object in rest-v2.yaml) is left out, not null.
        wo.timeLogs.map((l) => ({
          id: l.id,
          in: { created: fnDateTime(l.in, zone) },
          ...(l.out !== null ? { out: { created: fnDateTime(l.out, zone) } } : {}),
        })),
      ),
      hours: Math.round((wo.timeLogs.reduce((sum, l) => sum + ((l.out ?? l.in) - l.in), 0) / 3_600_000) * 100) / 100,
    },
    messages: { metadata: { total: wo.messages.length, page: 1, pages: 1, per_page: 25 }, results: [] },
    routes: collection(wo.routes.map((r) => ({ user: provider(r.provider_id), created: fnDateTime(r.at, zone) }))),
    requests: collection(wo.requests.map((r) => ({ user: provider(r.provider_id), created: fnDateTime(r.at, zone) }))),
    declines: collection(wo.declines.map((r) => ({ user: provider(r.provider_id), created: fnDateTime(r.at, zone) }))),
    incident_id: wo.incident_id ?? null,
    require_ontime: wo.require_ontime,
    require_gps: wo.require_gps,
    allow_counter_offers: wo.allow_counter_offers,
    printable: wo.printable,
    created: fnDateTime(wo.createdAt, zone),
    updated: fnDateTime(wo.updatedAt, zone),
    // OAS-R MilestonesDto (rest-v2.yaml 7946): lifecycle timestamps, on list results too.
    // MilestonesDto types each milestone as an object, never null: one not reached yet is left out.
    milestones: Object.fromEntries(
      (
        [
          ['created', wo.createdAt],
          ['published', wo.publishedAt],
          ['workdone', wo.completedAt],
          ['approved', wo.approvedAt],
          ['paid', wo.paidAt],
          ['canceled', wo.cancelledAt],
        ] as const
      ).flatMap(([name, at]) => (at !== null ? [[name, fnDateTime(at, zone)]] : [])),
    ),
    closing_notes: wo.customFieldValues.get(702) ?? '',
    actions: availableActions(wo),
  };
  // rest-v2.yaml types these as objects/strings, never null: a work order without them leaves them out.
  for (const key of ['type_of_work', 'client', 'project', 'template', 'location', 'schedule', 'pay', 'incident_id']) {
    if (rendered[key] === null) delete rendered[key];
  }
  return rendered;
}
