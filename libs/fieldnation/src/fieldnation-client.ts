import { FieldNationError } from './fieldnation-error';
import type {
  CustomFieldDefinition,
  FnMessage,
  Webhook,
  WebhookInput,
  WorkOrder,
  WorkOrderPayload,
} from './fieldnation.types';
import { customFieldValue } from './fieldnation.types';
import { FieldNationTransport, type ClientStats, type FieldNationClientOptions, type RequestSpec } from './fieldnation-transport';

/** One provider (`POST /route`), or several at once (`POST /mass-route`, whose body is `{ids}` in rest-v2.yaml). */
/** `type` of `POST /workorders/{id}/messages` (WoMessagesCreatedDto in rest-v2.yaml). */
export type FieldNationMessageType = 'ASSIGNEDTECH' | 'INTERNAL' | 'STAFF_NOTE' | 'ROUTEDTECHS' | 'REQUESTEDTECHS' | 'SPECIFICTECH' | 'TECHTOMANAGER' | 'FROMTECH' | 'REPLY' | 'REPLYTOTHREAD';

export type RouteTarget = { providerId: number } | { providerIds: number[] };

export interface FindWorkOrdersQuery {
  /** Exact value of a custom field (e.g. the one carrying the Salesforce id). */
  customField?: { id: number; value: string };
  /** Exact `incident_id`. */
  incidentId?: string;
  /** Free text (`f_search`); implied by the two above. */
  search?: string;
  /** Pages of 100 to read at most. Default 5. */
  maxPages?: number;
}

/**
 * Field Nation REST v2 + Webhooks v3 management client: OAuth password grant with a shared token
 * cache, client-side rate limit, bounded retries with jitter honouring Retry-After, typed errors.
 */
export class FieldNationClient {
  readonly origin: string;
  private readonly http: FieldNationTransport;

  constructor(options: FieldNationClientOptions) {
    this.http = new FieldNationTransport(options);
    this.origin = this.http.origin;
  }

  /** A copy of the counters (for Prometheus exporters that poll). */
  stats(): ClientStats {
    return this.http.stats();
  }

  // ── Work orders ────────────────────────────────────────────────────────────────────────────

  /** Not retried after a timeout or 5xx (it may have been created): the error is `ambiguous`; look it up with findWorkOrders. */
  createWorkOrder(payload: WorkOrderPayload): Promise<WorkOrder> {
    return this.v2({ method: 'POST', path: '/workorders', route: '/workorders', body: payload, idempotent: false });
  }

  getWorkOrder(id: number): Promise<WorkOrder> {
    return this.v2({ method: 'GET', path: `/workorders/${id}`, route: '/workorders/:id', idempotent: true });
  }

  /** Partial update: send only what changed. */
  updateWorkOrder(id: number, partial: WorkOrderPayload): Promise<WorkOrder> {
    return this.v2({ method: 'PUT', path: `/workorders/${id}`, route: '/workorders/:id', body: partial, idempotent: true });
  }

  /**
   * Work orders whose custom field / incident id equals the given value exactly: `f_search` narrows
   * server-side, the exact match is checked here (what the search covers is undocumented).
   */
  async findWorkOrders(query: FindWorkOrdersQuery): Promise<WorkOrder[]> {
    const search = query.search ?? query.customField?.value ?? query.incidentId;
    const found: WorkOrder[] = [];
    const maxPages = query.maxPages ?? 5;
    for (let page = 1; page <= maxPages; page++) {
      const res = await this.v2<{ results: WorkOrder[]; metadata?: { pages?: number } }>({
        method: 'GET',
        path: '/workorders',
        route: '/workorders',
        query: { list: 'workorders_all', sticky: false, f_search: search, page, per_page: 100, sort: 'id', order: 'asc' },
        idempotent: true,
      });
      found.push(...(res.results ?? []));
      if (page >= (res.metadata?.pages ?? 1)) break;
    }
    return found.filter(
      (wo) =>
        (!query.customField || customFieldValue(wo, query.customField.id) === query.customField.value) &&
        (query.incidentId === undefined || String(wo.incident_id ?? '') === query.incidentId),
    );
  }

  publishWorkOrder(id: number): Promise<WorkOrder> {
    return this.v2({ method: 'POST', path: `/workorders/${id}/publish`, route: '/workorders/:id/publish', idempotent: true });
  }

  /**
   * One provider (`POST /route`) or several (`POST /mass-route` with `{ids}`: the body rest-v2.yaml
   * defines; the `{talent_pool_id}` body of the newer prose is not in the definition).
   */
  routeWorkOrder(id: number, target: RouteTarget): Promise<unknown> {
    if ('providerId' in target) {
      return this.v2({ method: 'POST', path: `/workorders/${id}/route`, route: '/workorders/:id/route', body: { technician: { id: target.providerId } }, idempotent: true });
    }
    return this.v2({ method: 'POST', path: `/workorders/${id}/mass-route`, route: '/workorders/:id/mass-route', body: { ids: target.providerIds }, idempotent: true });
  }

  assignWorkOrder(id: number, providerId: number): Promise<unknown> {
    return this.v2({ method: 'POST', path: `/workorders/${id}/assignee`, route: '/workorders/:id/assignee', body: { user: { id: providerId } }, idempotent: true });
  }

  approveWorkOrder(id: number): Promise<WorkOrder> {
    return this.v2({ method: 'POST', path: `/workorders/${id}/approve`, route: '/workorders/:id/approve', idempotent: true });
  }

  /** `cancel_reason` travels as a query parameter (OAS-R). */
  cancelWorkOrder(id: number, options: { reason?: string | number } = {}): Promise<WorkOrder> {
    return this.v2({ method: 'DELETE', path: `/workorders/${id}`, route: '/workorders/:id', query: { cancel_reason: options.reason }, idempotent: true });
  }

  setCustomField(id: number, fieldId: number, value: string): Promise<unknown> {
    return this.v2({ method: 'PUT', path: `/workorders/${id}/custom_fields/${fieldId}`, route: '/workorders/:id/custom_fields/:cfId', body: { value }, idempotent: true });
  }

  /** `GET /custom-fields` takes no query parameters (rest-v2.yaml): one call returns them all. */
  listCustomFields(): Promise<CustomFieldDefinition[]> {
    return this.v2<{ results: CustomFieldDefinition[] }>({ method: 'GET', path: '/custom-fields', route: '/custom-fields', idempotent: true }).then((r) => r.results ?? []);
  }

  // ── Messages ───────────────────────────────────────────────────────────────────────────────

  /**
   * Posts a message and returns its `msg_id`. The API answers with the whole thread, so the id is the
   * newest message written by this API user with the same text. `type` decides who sees it (the
   * connection's `fieldnation.messageType`); a reply takes its thread's audience and sends none.
   */
  async postMessage(id: number, input: { message: string; type?: FieldNationMessageType; parentId?: string }): Promise<string> {
    const path = input.parentId ? `/workorders/${id}/messages/${input.parentId}` : `/workorders/${id}/messages`;
    const thread = await this.v2<{ results: FnMessage[] }>({
      method: 'POST',
      path,
      route: input.parentId ? '/workorders/:id/messages/:messageId' : '/workorders/:id/messages',
      body: input.parentId ? { message: input.message } : { message: input.message, ...(input.type ? { type: input.type } : {}) },
      idempotent: false,
    });
    const all = flattenMessages(thread.results ?? []);
    const userId = this.http.userId;
    const mine = all.filter((m) => m.message === input.message && (userId === undefined || Number(m.from?.id) === userId));
    const newest = (mine.length ? mine : all).sort(newestFirst)[0];
    if (!newest) throw new FieldNationError('Field Nation accepted the message but returned no message id', { kind: 'http', status: 200, method: 'POST', route: '/workorders/:id/messages', retryable: false });
    return String(newest.msg_id);
  }

  /** Top-level messages, newest first, each with its `replies`. */
  listMessages(id: number): Promise<FnMessage[]> {
    return this.v2<{ results: FnMessage[] }>({ method: 'GET', path: `/workorders/${id}/messages`, route: '/workorders/:id/messages', idempotent: true }).then((r) => r.results ?? []);
  }

  // ── Webhooks v3 management ─────────────────────────────────────────────────────────────────

  createWebhook(input: WebhookInput): Promise<Webhook> {
    return this.webhooks<Webhook>({ method: 'POST', path: '', route: '', body: { method: 'post', status: 'active', ...input }, idempotent: false });
  }

  listWebhooks(): Promise<Webhook[]> {
    return this.webhooks<Webhook[]>({ method: 'GET', path: '', route: '', query: { perPage: 100 }, idempotent: true });
  }

  updateWebhook(webhookId: string, input: Partial<WebhookInput>): Promise<Webhook> {
    return this.webhooks<Webhook>({ method: 'PUT', path: `/${webhookId}`, route: '/:webhookId', body: input, idempotent: true });
  }

  deleteWebhook(webhookId: string): Promise<Webhook> {
    return this.webhooks<Webhook>({ method: 'DELETE', path: `/${webhookId}`, route: '/:webhookId', idempotent: true });
  }

  /** Ask Field Nation to re-deliver a delivery (same uuid, next attempt). */
  retryWebhookDelivery(deliveryId: string): Promise<{ job_id: string }> {
    return this.webhooks({ method: 'PATCH', path: `/delivery-logs/${deliveryId}/retry`, route: '/delivery-logs/:deliveryId/retry', idempotent: true });
  }

  // ── Transport ──────────────────────────────────────────────────────────────────────────────

  private v2<T>(spec: Omit<RequestSpec, 'auth'>): Promise<T> {
    return this.http.request<T>({ ...spec, path: `/api/rest/v2${spec.path}`, route: `${spec.method} ${spec.route}`, auth: 'query' });
  }

  private async webhooks<T>(spec: Omit<RequestSpec, 'auth'>): Promise<T> {
    const res = await this.http.request<{ result: T }>({ ...spec, path: `/api/v1/webhooks${spec.path}`, route: `${spec.method} /webhooks${spec.route}`, auth: 'bearer' });
    return res.result;
  }
}

function flattenMessages(messages: FnMessage[]): FnMessage[] {
  return messages.flatMap((m) => [m, ...flattenMessages(m.replies ?? [])]);
}

function newestFirst(a: FnMessage, b: FnMessage): number {
  const at = a.created?.utc ?? '';
  const bt = b.created?.utc ?? '';
  if (at !== bt) return at < bt ? 1 : -1;
  return Number(b.msg_id) - Number(a.msg_id) || (String(b.msg_id) > String(a.msg_id) ? 1 : -1);
}
