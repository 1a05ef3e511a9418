import { SimError, notFound } from '../core/sim-error';
import { API_USER_ID, CANCEL_REASONS, CUSTOM_FIELDS, DEFAULT_PROVIDER_ID, TEMPLATES, findProvider, type SimUser } from './catalogue';
import { assertTransition, type WorkflowAction } from './state-machine';
import type { EventSink, EventSpec } from './work-order-events';
import {
  STATUS,
  statusCode,
  type MessageRecord,
  type StatusId,
  type SubStatus,
  type TaskRecord,
  type WorkOrderRecord,
} from './work-order.model';
import { renderWorkOrder } from './work-order.render';
import { checkCustomFieldValue, parseWorkOrderInput, validationError, type WorkOrderInput } from './work-order.schema';

export interface WorkOrderServiceOptions {
  firstWorkOrderId: number;
  validationStatus: 400 | 422;
  requirePublishFields: boolean;
  baseUrl: () => string;
  emit: EventSink;
}

export interface PostMessageInput {
  message: string;
  type?: string;
  to?: { id: number };
  parentId?: string;
}

/** The work-order store and every mutation; REST routes, the control API and in-process helpers all go through here. */
export class WorkOrderService {
  private readonly workOrders = new Map<number, WorkOrderRecord>();
  private nextId: number;
  private nextMessageId = 7_000_001;
  private nextTaskId = 900_001;
  private nextTimeLogId = 1;

  constructor(private readonly options: WorkOrderServiceOptions) {
    this.nextId = options.firstWorkOrderId;
  }

  reset(): void {
    this.workOrders.clear();
    this.nextId = this.options.firstWorkOrderId;
  }

  get(id: number): WorkOrderRecord {
    const wo = this.workOrders.get(id);
    if (!wo) throw notFound('Work order', id);
    return wo;
  }

  all(): WorkOrderRecord[] {
    return [...this.workOrders.values()];
  }

  render(wo: WorkOrderRecord): Record<string, unknown> {
    return renderWorkOrder(wo, this.options.baseUrl());
  }

  private emit(wo: WorkOrderRecord, actor: SimUser, events: EventSpec[]): void {
    if (!events.length) return;
    const params = (e: EventSpec) => ({ work_order_id: wo.id, ...e.params });
    this.options.emit({
      workOrderId: wo.id,
      actor,
      at: Date.now(),
      events: events.map((e) => ({ name: e.name, params: params(e) })),
      workorder: this.render(wo),
    });
  }

  private setStatus(wo: WorkOrderRecord, statusId: StatusId, subStatus: SubStatus | null = null): EventSpec {
    const previous = { status_id: wo.statusId, sub_status: wo.subStatus };
    wo.statusId = statusId;
    wo.subStatus = subStatus;
    wo.updatedAt = Date.now();
    const suffix = subStatus ?? statusCode(statusId);
    return {
      name: `workorder.status.${suffix}`,
      params: {
        status_id: statusId,
        previous_status_id: previous.status_id,
        ...(statusId === STATUS.ASSIGNED ? { sub_status: subStatus, previous_sub_status: previous.sub_status } : {}),
      },
    };
  }

  private task(key: TaskRecord['type']['key'], label: string, typeId: number): TaskRecord {
    return { id: this.nextTaskId++, type: { id: typeId, name: label, key }, label, status: 'incomplete', completed_at: null };
  }

  create(body: unknown, actor: SimUser): WorkOrderRecord {
    let input = parseWorkOrderInput(body, 'create', this.options.validationStatus);
    const template = input.template ? TEMPLATES.find((t) => t.id === input.template?.id) : undefined;
    if (template && !input.ignore_template) {
      const merged = { ...template.defaults, ...(body as Record<string, unknown>) };
      input = parseWorkOrderInput(merged, 'create', this.options.validationStatus);
    }
    const now = Date.now();
    const wo: WorkOrderRecord = {
      id: this.nextId++,
      title: input.title ?? '',
      statusId: STATUS.DRAFT,
      subStatus: null,
      delaySeconds: 0,
      types_of_work: [],
      service_types: [],
      manager: { id: actor.role === 'buyer' ? actor.id : API_USER_ID },
      location: null,
      schedule: null,
      pay: null,
      contacts: [],
      customFieldValues: new Map(),
      tasks: [
        this.task('checkin', 'Check in', 1),
        this.task('checkout', 'Check out', 2),
        this.task('closeout_notes', 'Enter closeout notes', 3),
      ],
      messages: [],
      timeLogs: [],
      routes: [],
      requests: [],
      declines: [],
      assigneeId: null,
      require_ontime: false,
      require_gps: false,
      allow_counter_offers: true,
      printable: true,
      createdAt: now,
      updatedAt: now,
      createdBy: actor.id,
      publishedAt: null,
      completedAt: null,
      approvedAt: null,
      paidAt: null,
      cancelledAt: null,
      cancelReason: null,
    };
    this.apply(wo, input);
    this.workOrders.set(wo.id, wo);
    this.emit(wo, actor, [
      { name: 'workorder.created', params: {} },
      { name: 'workorder.status.draft', params: { status_id: STATUS.DRAFT, previous_status_id: null } },
    ]);
    return wo;
  }

  /** Copy validated input onto the record; returns which event-worthy parts changed. */
  private apply(
    wo: WorkOrderRecord,
    input: WorkOrderInput,
  ): { schedule: boolean; customFields: Array<{ id: number; previous: string; value: string }> } {
    if (input.title !== undefined) wo.title = input.title;
    for (const key of ['description', 'confidential', 'policy_and_procedures', 'standard_instructions'] as const) {
      if (input[key] !== undefined) wo[key] = input[key];
    }
    if (input.types_of_work) {
      const anyPrimary = input.types_of_work.some((t) => t.isPrimary);
      // Without an explicit primary the first one is primary [I].
      wo.types_of_work = input.types_of_work.map((t, i) => ({ id: t.id, isPrimary: anyPrimary ? t.isPrimary === true : i === 0 }));
    } else if (input.type_of_work) {
      wo.types_of_work = [{ id: input.type_of_work.id, isPrimary: true }];
    }
    if (input.service_types) wo.service_types = input.service_types.map((s) => ({ id: s.id }));
    if (input.template) wo.template = { id: input.template.id };
    if (input.project) wo.project = { id: input.project.id };
    if (input.client) wo.client = { id: input.client.id };
    if (input.manager) wo.manager = { id: input.manager.id };
    if (input.location) {
      const { mode } = input.location;
      wo.location =
        mode === 'custom'
          ? {
              mode,
              display_name: input.location.display_name,
              address1: input.location.address1,
              address2: input.location.address2,
              city: input.location.city,
              state: input.location.state,
              zip: input.location.zip,
              country: input.location.country,
              type: input.location.type ? { id: input.location.type.id } : undefined,
              notes: input.location.notes,
            }
          : mode === 'location'
            ? { mode, saved_location: { id: input.location.saved_location.id } }
            : { mode };
    }
    let scheduleChanged = false;
    if (input.schedule) {
      const w = input.schedule.service_window;
      const next = {
        service_window: { mode: w.mode, start: w.start, end: w.end ?? null },
        schedule_note: input.schedule.schedule_note,
        time_zone: input.schedule.time_zone ? { id: input.schedule.time_zone.id } : undefined,
        require_ontime: input.schedule.require_ontime,
      };
      scheduleChanged = JSON.stringify(next) !== JSON.stringify(wo.schedule);
      wo.schedule = next;
      if (input.schedule.require_ontime !== undefined) wo.require_ontime = input.schedule.require_ontime;
    }
    if (input.pay) {
      const { type, base, additional, hours, finance } = input.pay;
      wo.pay = {
        type,
        base: { amount: base.amount, units: base.units },
        ...(additional ? { additional: { amount: additional.amount, units: additional.units } } : {}),
        ...(hours !== undefined ? { hours } : {}),
        ...(finance ? { finance: { id: finance.id } } : {}),
      };
    }
    if (input.contacts)
      wo.contacts = input.contacts.results.map(({ name, role, phone, ext, email, notes }) => ({ name, role, phone, ext, email, notes }));
    const customFields: Array<{ id: number; previous: string; value: string }> = [];
    for (const category of input.custom_fields?.results ?? []) {
      for (const cf of category.results) {
        const previous = wo.customFieldValues.get(cf.id) ?? '';
        if (previous !== cf.value) customFields.push({ id: cf.id, previous, value: cf.value });
        wo.customFieldValues.set(cf.id, cf.value);
      }
    }
    for (const key of ['require_ontime', 'require_gps', 'allow_counter_offers', 'printable'] as const) {
      if (input[key] !== undefined) wo[key] = input[key];
    }
    if (input.incident_id !== undefined) wo.incident_id = input.incident_id;
    wo.updatedAt = Date.now();
    return { schedule: scheduleChanged, customFields };
  }

  update(id: number, body: unknown, actor: SimUser): WorkOrderRecord {
    const wo = this.get(id);
    assertTransition(wo, 'update');
    const input = parseWorkOrderInput(body, 'update', this.options.validationStatus);
    if (input.pay) assertTransition(wo, 'update_pay');
    const changed = this.apply(wo, input);
    const events: EventSpec[] = [];
    if (changed.schedule) events.push({ name: 'workorder.schedule_updated', params: {} });
    for (const cf of changed.customFields) events.push(customFieldEvent(cf));
    this.emit(wo, actor, events);
    return wo;
  }

  setCustomField(id: number, fieldId: number, value: unknown, actor: SimUser): WorkOrderRecord {
    const wo = this.get(id);
    assertTransition(wo, 'update');
    if (!CUSTOM_FIELDS.some((d) => d.id === fieldId)) throw notFound('Custom field', fieldId);
    if (value === undefined || (typeof value === 'object' && value !== null)) {
      throw validationError(this.options.validationStatus, [{ field: 'value', message: 'is required and must be a string' }]);
    }
    const text = value === null ? '' : String(value);
    const errors = checkCustomFieldValue(fieldId, text);
    if (errors.length) throw validationError(this.options.validationStatus, errors);
    const previous = wo.customFieldValues.get(fieldId) ?? '';
    wo.customFieldValues.set(fieldId, text);
    wo.updatedAt = Date.now();
    if (previous !== text) this.emit(wo, actor, [customFieldEvent({ id: fieldId, previous, value: text })]);
    return wo;
  }

  private transition(id: number, action: WorkflowAction, actor: SimUser, mutate: (wo: WorkOrderRecord) => EventSpec[]): WorkOrderRecord {
    const wo = this.get(id);
    assertTransition(wo, action);
    const events = mutate(wo);
    wo.updatedAt = Date.now();
    this.emit(wo, actor, events);
    return wo;
  }

  private missingForPublish(wo: WorkOrderRecord): string[] {
    const missing: string[] = [];
    if (!wo.types_of_work.length) missing.push('types_of_work');
    if (!wo.location) missing.push('location');
    if (!wo.schedule) missing.push('schedule');
    if (!wo.pay) missing.push('pay');
    return missing;
  }

  publish(id: number, actor: SimUser): WorkOrderRecord {
    return this.transition(id, 'publish', actor, (wo) => {
      const missing = this.options.requirePublishFields ? this.missingForPublish(wo) : [];
      if (missing.length) {
        throw validationError(
          this.options.validationStatus,
          missing.map((field) => ({ field, message: 'is required to publish' })),
        );
      }
      wo.publishedAt = Date.now();
      return [this.setStatus(wo, STATUS.PUBLISHED)];
    });
  }

  unpublish(id: number, actor: SimUser): WorkOrderRecord {
    return this.transition(id, 'unpublish', actor, (wo) => {
      wo.routes = [];
      wo.requests = [];
      return [this.setStatus(wo, STATUS.DRAFT)];
    });
  }

  route(id: number, providerIds: number[], actor: SimUser): WorkOrderRecord {
    const unknown = providerIds.filter((p) => !findProvider(p));
    if (!providerIds.length || unknown.length) {
      throw validationError(this.options.validationStatus, [
        { field: 'technician.id', message: providerIds.length ? `unknown provider ${unknown.join(', ')}` : 'is required' },
      ]);
    }
    return this.transition(id, 'route', actor, (wo) => {
      const events: EventSpec[] = [];
      for (const providerId of providerIds) {
        if (wo.routes.some((r) => r.provider_id === providerId)) continue;
        wo.routes.push({ provider_id: providerId, at: Date.now() });
        events.push({ name: 'workorder.routed', params: { provider_id: providerId, user: { id: providerId } } });
      }
      if (wo.statusId !== STATUS.ROUTED) events.push(this.setStatus(wo, STATUS.ROUTED));
      return events;
    });
  }

  request(id: number, providerId: number): WorkOrderRecord {
    const provider = this.provider(providerId);
    return this.transition(id, 'request', provider, (wo) => {
      if (wo.requests.some((r) => r.provider_id === providerId))
        throw new SimError(400, `Provider ${providerId} already requested work order ${id}`);
      wo.requests.push({ provider_id: providerId, at: Date.now() });
      return [{ name: 'workorder.requested', params: { provider_id: providerId, user: { id: providerId } } }];
    });
  }

  decline(id: number, providerId: number): WorkOrderRecord {
    const provider = this.provider(providerId);
    return this.transition(id, 'decline', provider, (wo) => {
      wo.declines.push({ provider_id: providerId, at: Date.now() });
      wo.routes = wo.routes.filter((r) => r.provider_id !== providerId);
      wo.requests = wo.requests.filter((r) => r.provider_id !== providerId);
      return [{ name: 'workorder.declined', params: { provider_id: providerId, user: { id: providerId } } }];
    });
  }

  acceptRoute(id: number, providerId: number): WorkOrderRecord {
    const provider = this.provider(providerId);
    return this.transition(id, 'accept_route', provider, (wo) => {
      if (!wo.routes.some((r) => r.provider_id === providerId))
        throw new SimError(400, `Work order ${id} is not routed to provider ${providerId}`);
      return [this.assignTo(wo, providerId)];
    });
  }

  assign(id: number, providerId: number, actor: SimUser): WorkOrderRecord {
    if (!findProvider(providerId))
      throw validationError(this.options.validationStatus, [{ field: 'user.id', message: `unknown provider ${providerId}` }]);
    return this.transition(id, 'assign', actor, (wo) => [this.assignTo(wo, providerId)]);
  }

  private assignTo(wo: WorkOrderRecord, providerId: number): EventSpec {
    wo.assigneeId = providerId;
    const event = this.setStatus(wo, STATUS.ASSIGNED, null);
    return { ...event, params: { ...event.params, provider_id: providerId, user: { id: providerId } } };
  }

  /** Back to Published (or Routed when routes remain) [I: the exact target is undocumented]. */
  unassign(id: number, actor: SimUser): WorkOrderRecord {
    return this.transition(id, 'unassign', actor, (wo) => {
      const providerId = wo.assigneeId;
      wo.assigneeId = null;
      wo.routes = wo.routes.filter((r) => r.provider_id !== providerId);
      const cancelled: EventSpec = {
        name: 'workorder.status.assigned_cancelled',
        params: { provider_id: providerId, status_id: STATUS.ASSIGNED },
      };
      return [cancelled, this.setStatus(wo, wo.routes.length ? STATUS.ROUTED : STATUS.PUBLISHED)];
    });
  }

  private providerAction(
    id: number,
    action: WorkflowAction,
    providerId: number | undefined,
    mutate: (wo: WorkOrderRecord) => EventSpec[],
  ): WorkOrderRecord {
    const wo = this.get(id);
    const actorId = providerId ?? wo.assigneeId ?? DEFAULT_PROVIDER_ID;
    if (wo.assigneeId !== null && actorId !== wo.assigneeId)
      throw new SimError(403, `Provider ${actorId} is not assigned to work order ${id}`);
    return this.transition(id, action, this.provider(actorId), mutate);
  }

  confirm(id: number, providerId?: number): WorkOrderRecord {
    return this.providerAction(id, 'confirm', providerId, (wo) => [this.setStatus(wo, STATUS.ASSIGNED, 'confirmed')]);
  }

  onMyWay(id: number, providerId?: number): WorkOrderRecord {
    return this.providerAction(id, 'on_my_way', providerId, (wo) => [this.setStatus(wo, STATUS.ASSIGNED, 'on_my_way')]);
  }

  runningLate(id: number, delaySeconds = 900, providerId?: number): WorkOrderRecord {
    return this.providerAction(id, 'running_late', providerId, (wo) => {
      wo.delaySeconds = delaySeconds;
      const event = this.setStatus(wo, STATUS.ASSIGNED, 'delayed');
      return [{ ...event, params: { ...event.params, estimated_delay: delaySeconds } }];
    });
  }

  checkIn(id: number, providerId?: number): WorkOrderRecord {
    return this.providerAction(id, 'check_in', providerId, (wo) => {
      wo.timeLogs.push({ id: this.nextTimeLogId++, in: Date.now(), out: null });
      wo.delaySeconds = 0;
      return [this.setStatus(wo, STATUS.ASSIGNED, 'checked_in'), ...this.completeTask(wo, 'checkin')];
    });
  }

  checkOut(id: number, providerId?: number): WorkOrderRecord {
    return this.providerAction(id, 'check_out', providerId, (wo) => {
      const open = wo.timeLogs.find((l) => l.out === null);
      if (open) open.out = Date.now();
      return [this.setStatus(wo, STATUS.ASSIGNED, 'checked_out'), ...this.completeTask(wo, 'checkout')];
    });
  }

  private completeTask(wo: WorkOrderRecord, key: TaskRecord['type']['key']): EventSpec[] {
    const task = wo.tasks.find((t) => t.type.key === key && t.status === 'incomplete') ?? wo.tasks.find((t) => t.type.key === key);
    if (!task) return [];
    task.status = 'complete';
    task.completed_at = Date.now();
    return [{ name: 'workorder.task_completed', params: { task_id: task.id, task: { id: task.id, type: task.type, label: task.label } } }];
  }

  /** Provider marks complete → Work Done; closeout notes (custom field 702) complete that task. */
  complete(id: number, options: { providerId?: number; closeoutNotes?: string } = {}): WorkOrderRecord {
    return this.providerAction(id, 'complete', options.providerId, (wo) => {
      const events: EventSpec[] = [];
      if (options.closeoutNotes !== undefined) {
        const previous = wo.customFieldValues.get(702) ?? '';
        wo.customFieldValues.set(702, options.closeoutNotes);
        events.push(customFieldEvent({ id: 702, previous, value: options.closeoutNotes }), ...this.completeTask(wo, 'closeout_notes'));
      }
      wo.completedAt = Date.now();
      events.push(this.setStatus(wo, STATUS.WORK_DONE));
      return events;
    });
  }

  /** Buyer marks incomplete: back to Assigned (checked out) [I: the event is undocumented; status.assigned is sent]. */
  incomplete(id: number, reason: string | undefined, actor: SimUser): WorkOrderRecord {
    return this.transition(id, 'incomplete', actor, (wo) => {
      wo.completedAt = null;
      const event = this.setStatus(wo, STATUS.ASSIGNED, 'checked_out');
      return [{ ...event, name: 'workorder.status.assigned', params: { ...event.params, reason: reason ?? null } }];
    });
  }

  approve(id: number, actor: SimUser): WorkOrderRecord {
    return this.transition(id, 'approve', actor, (wo) => {
      wo.approvedAt = Date.now();
      return [this.setStatus(wo, STATUS.APPROVED)];
    });
  }

  /** The platform's payment run (Tuesdays and Fridays on Field Nation; a manual trigger here). */
  pay(id: number, actor: SimUser): WorkOrderRecord {
    return this.transition(id, 'pay', actor, (wo) => {
      wo.paidAt = Date.now();
      const event = this.setStatus(wo, STATUS.PAID);
      return [{ ...event, params: { ...event.params, amount: payTotal(wo) } }];
    });
  }

  /** Pays every approved work order; returns the ids paid. */
  runPayments(actor: SimUser): number[] {
    return this.all()
      .filter((wo) => wo.statusId === STATUS.APPROVED)
      .map((wo) => this.pay(wo.id, actor).id);
  }

  cancel(id: number, reason: unknown, actor: SimUser): WorkOrderRecord {
    return this.transition(id, 'cancel', actor, (wo) => {
      const reasonId = Number(reason);
      const known = CANCEL_REASONS.find((r) => r.id === reasonId);
      wo.cancelReason = known ? known.name : reason === undefined || reason === null || reason === '' ? null : String(reason);
      wo.cancelledAt = Date.now();
      const event = this.setStatus(wo, STATUS.CANCELLED);
      return [{ ...event, params: { ...event.params, cancel_reason: wo.cancelReason } }];
    });
  }

  postMessage(id: number, input: PostMessageInput, actor: SimUser): MessageRecord {
    const wo = this.get(id);
    if (typeof input.message !== 'string' || !input.message.trim()) {
      throw validationError(this.options.validationStatus, [{ field: 'message', message: 'is required' }]);
    }
    if (input.parentId !== undefined) {
      const parent = wo.messages.find((m) => m.msg_id === input.parentId);
      if (!parent) throw notFound('Message', input.parentId);
      if (parent.parent_id !== null) throw new SimError(400, 'Replies can only be posted to a top-level message');
    }
    const type = input.parentId ? 'REPLY' : (input.type ?? (actor.role === 'provider' ? 'FROMTECH' : 'ASSIGNEDTECH'));
    // The type is the audience (rest-v2.yaml WoMessagesCreatedDto): only ASSIGNEDTECH reaches the
    // assigned provider, SPECIFICTECH the one in `to`; INTERNAL/STAFF_NOTE stay with the buyer's staff.
    const to =
      type === 'SPECIFICTECH' && input.to
        ? findProvider(input.to.id)
        : type === 'ASSIGNEDTECH' && wo.assigneeId !== null
          ? findProvider(wo.assigneeId)
          : undefined;
    const message: MessageRecord = {
      msg_id: String(this.nextMessageId++),
      parent_id: input.parentId ?? null,
      from: { id: actor.id, name: `${actor.first_name} ${actor.last_name}`, role: actor.role },
      to: to ? { id: to.id, name: `${to.first_name} ${to.last_name}` } : null,
      type,
      message: input.message,
      created: Date.now(),
      read: false,
    };
    wo.messages.push(message);
    wo.updatedAt = Date.now();
    this.emit(wo, actor, [
      {
        name: 'workorder.message_posted',
        params: {
          message_id: message.msg_id,
          parent_id: message.parent_id,
          author: { id: actor.id, name: message.from.name, role: actor.role },
          message: {
            msg_id: message.msg_id,
            parent_id: message.parent_id,
            from: message.from,
            to: message.to,
            type: message.type,
            message: message.message,
          },
        },
      },
    ]);
    return message;
  }

  private provider(id: number): SimUser {
    const provider = findProvider(id);
    if (!provider) throw notFound('Provider', id);
    return provider;
  }
}

function customFieldEvent(cf: { id: number; previous: string; value: string }): EventSpec {
  const def = CUSTOM_FIELDS.find((d) => d.id === cf.id);
  return {
    name: 'workorder.custom_field_value_updated',
    params: { custom_field_id: cf.id, custom_field: { id: cf.id, name: def?.name ?? null }, value: cf.value, previous_value: cf.previous },
  };
}

function payTotal(wo: WorkOrderRecord): number {
  if (!wo.pay) return 0;
  const base = wo.pay.base.amount * wo.pay.base.units;
  return wo.pay.additional ? base + wo.pay.additional.amount * wo.pay.additional.units : base;
}
