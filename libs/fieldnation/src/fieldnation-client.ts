import type { IncomingMessage } from 'node:http';
import { multipartStream } from '@broker/salesforce';
import type { FnAttachmentFolder } from './fieldnation-attachments.types';
import { FieldNationError } from './fieldnation-error';
import type { CustomFieldDefinition, FnMessage, Webhook, WebhookInput, WorkOrder, WorkOrderWrite } from './fieldnation.types';
import { customFieldValue } from './fieldnation.types';
import { FieldNationTransport, type ClientStats, type FieldNationClientOptions, type RequestSpec } from './fieldnation-transport';

/** One provider (`POST /route`), or several at once (`POST /mass-route`, whose body is `{ids}` in rest-v2.yaml). */
/** `type` of `POST /workorders/{id}/messages` (WoMessagesCreatedDto in rest-v2.yaml). */
export type FieldNationMessageType =
  | 'ASSIGNEDTECH'
  | 'INTERNAL'
  | 'STAFF_NOTE'
  | 'ROUTEDTECHS'
  | 'REQUESTEDTECHS'
  | 'SPECIFICTECH'
  | 'TECHTOMANAGER'
  | 'FROMTECH'
  | 'REPLY'
  | 'REPLYTOTHREAD';

export type RouteTarget = { providerId: number } | { providerIds: number[] };

/** The key a work order carries for the broker: `incident_id`, or one custom field's value. */
export type WorkOrderKey = { incidentId: string } | { customField: { id: number; value: string } };

export interface RecentWorkOrdersQuery {
  /** The work order(s) to find, matched exactly on the returned objects. */
  key: WorkOrderKey;
  /** Earliest moment (our clock) the work order can have been created: when the create was sent. */
  createdSince: Date;
  /** Allowance for clock difference with Field Nation, subtracted from `createdSince`. Default 15 min. */
  clockSkewMs?: number;
  /** Pages of 100 to read at most, newest first. Default 20. */
  maxPages?: number;
  /** Clock (tests). */
  now?: () => number;
}

export interface RecentWorkOrdersResult {
  /** Matching work orders, lowest id (oldest) first. */
  found: WorkOrder[];
  /**
   * True when every work order created since `createdSince` was read: an empty `found` then means
   * Field Nation holds none. False when `maxPages` ran out first (nothing can be concluded).
   */
  complete: boolean;
  pagesRead: number;
}

const DAY_MS = 86_400_000;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** A Field Nation UTC timestamp (`YYYY-MM-DD HH:MM:SS` as the docs show, or ISO 8601 as UtcDto says) in ms. */
export function fnUtcMillis(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  const iso = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?$/.test(value) ? `${value.replace(' ', 'T')}Z` : value;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Whether a returned work order carries the key (exact match, never a search). */
export function carriesKey(wo: WorkOrder, key: WorkOrderKey): boolean {
  if ('incidentId' in key) return String(wo.incident_id ?? '') === key.incidentId;
  return customFieldValue(wo, key.customField.id) === key.customField.value;
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

  /** Not retried after a timeout or 5xx (it may have been created): the error is `ambiguous`; look it up with findRecentWorkOrders. */
  createWorkOrder(payload: WorkOrderWrite): Promise<WorkOrder> {
    return this.v2({ method: 'POST', path: '/workorders', route: '/workorders', body: payload, idempotent: false });
  }

  getWorkOrder(id: number): Promise<WorkOrder> {
    return this.v2({ method: 'GET', path: `/workorders/${id}`, route: '/workorders/:id', idempotent: true });
  }

  /** Partial update: send only what changed. */
  updateWorkOrder(id: number, partial: WorkOrderWrite): Promise<WorkOrder> {
    return this.v2({ method: 'PUT', path: `/workorders/${id}`, route: '/workorders/:id', body: partial, idempotent: true });
  }

  /**
   * Work orders created since `createdSince` that carry `key`: the recovery after a create whose
   * outcome is unknown. Only documented list parameters are used (OAS-R = openapi/rest-v2.yaml):
   * - `f_search` is NOT used: it is a keyword search over title, description, location, type of work,
   *   buyer and provider (rest-v2.yaml 4690-4696, `workorderFilterSearch`), not incident ids or
   *   custom-field values, so it would find nothing on the real API;
   * - `f_created` (rest-v2.yaml 4550-4556): creation date, whole UTC days, "converted to the work
   *   order's local time for comparison", so the range is widened by a day on each side;
   * - `sort`/`order` (rest-v2.yaml 4347-4363; `id` is a sort column per reference §2) newest first,
   *   `page`/`per_page` (4326-4339; 100 at most per docs/rest-api/v2/common-patterns.txt 138), `list`/`sticky` (4274,
   *   4305: the all-work-orders tab without the user's saved filters).
   * Each returned object (`WorkOrderListResponseDto`, 9643) carries `incident_id` (9874),
   * `custom_fields` (9694) and `milestones.created.utc` (9750 → `MilestonesDto` 7946): the key is
   * matched on them here, and paging stops at the first page reaching work orders created before the
   * window (ids grow with creation time), at the last page, or after `maxPages` (then `complete` is false).
   */
  async findRecentWorkOrders(query: RecentWorkOrdersQuery): Promise<RecentWorkOrdersResult> {
    const now = (query.now ?? Date.now)();
    const since = query.createdSince.getTime() - (query.clockSkewMs ?? 15 * 60_000);
    const maxPages = query.maxPages ?? 20;
    const perPage = 100;
    const found: WorkOrder[] = [];
    let complete = false;
    let page = 1;
    for (; page <= maxPages; page++) {
      const res = await this.v2<{ results?: WorkOrder[]; metadata?: { pages?: number } }>({
        method: 'GET',
        path: '/workorders',
        route: '/workorders',
        query: {
          list: 'workorders_all',
          sticky: false,
          f_created: `${isoDay(since - DAY_MS)},${isoDay(now + DAY_MS)}`,
          sort: 'id',
          order: 'desc',
          page,
          per_page: perPage,
        },
        idempotent: true,
      });
      const results = res.results ?? [];
      found.push(...results.filter((wo) => carriesKey(wo, query.key)));
      const reachedOlder = results.some((wo) => {
        const created = fnUtcMillis(wo.milestones?.created?.utc);
        // Timestamps come to the second: only a whole second before the window is surely older.
        return created !== undefined && created < since - 1_000;
      });
      const lastPage = results.length < perPage || page >= (res.metadata?.pages ?? page);
      if (reachedOlder || lastPage) {
        complete = true;
        break;
      }
    }
    found.sort((a, b) => Number(a.id) - Number(b.id));
    return { found, complete, pagesRead: Math.min(page, maxPages) };
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
      return this.v2({
        method: 'POST',
        path: `/workorders/${id}/route`,
        route: '/workorders/:id/route',
        body: { technician: { id: target.providerId } },
        idempotent: true,
      });
    }
    return this.v2({
      method: 'POST',
      path: `/workorders/${id}/mass-route`,
      route: '/workorders/:id/mass-route',
      body: { ids: target.providerIds },
      idempotent: true,
    });
  }

  assignWorkOrder(id: number, providerId: number): Promise<unknown> {
    return this.v2({
      method: 'POST',
      path: `/workorders/${id}/assignee`,
      route: '/workorders/:id/assignee',
      body: { user: { id: providerId } },
      idempotent: true,
    });
  }

  approveWorkOrder(id: number): Promise<WorkOrder> {
    return this.v2({ method: 'POST', path: `/workorders/${id}/approve`, route: '/workorders/:id/approve', idempotent: true });
  }

  /** `cancel_reason` travels as a query parameter (OAS-R). */
  cancelWorkOrder(id: number, options: { reason?: string | number } = {}): Promise<WorkOrder> {
    return this.v2({
      method: 'DELETE',
      path: `/workorders/${id}`,
      route: '/workorders/:id',
      query: { cancel_reason: options.reason },
      idempotent: true,
    });
  }

  setCustomField(id: number, fieldId: number, value: string): Promise<unknown> {
    return this.v2({
      method: 'PUT',
      path: `/workorders/${id}/custom_fields/${fieldId}`,
      route: '/workorders/:id/custom_fields/:cfId',
      body: { value },
      idempotent: true,
    });
  }

  /** `GET /custom-fields` takes no query parameters (rest-v2.yaml): one call returns them all. */
  listCustomFields(): Promise<CustomFieldDefinition[]> {
    return this.v2<{ results: CustomFieldDefinition[] }>({
      method: 'GET',
      path: '/custom-fields',
      route: '/custom-fields',
      idempotent: true,
    }).then((r) => r.results ?? []);
  }

  /** A company catalogue's list (`GET /types-of-work`, `/templates`, …) with the query it documents; see fieldnation-catalogues.ts. */
  getList(path: string, query: Record<string, number> = {}): Promise<{ results?: unknown; metadata?: unknown }> {
    return this.v2({ method: 'GET', path, route: path, query, idempotent: true });
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
    if (!newest)
      throw new FieldNationError('Field Nation accepted the message but returned no message id', {
        kind: 'http',
        status: 200,
        method: 'POST',
        route: '/workorders/:id/messages',
        retryable: false,
      });
    return String(newest.msg_id);
  }

  /** Top-level messages, newest first, each with its `replies`. */
  listMessages(id: number): Promise<FnMessage[]> {
    return this.v2<{ results: FnMessage[] }>({
      method: 'GET',
      path: `/workorders/${id}/messages`,
      route: '/workorders/:id/messages',
      idempotent: true,
    }).then((r) => r.results ?? []);
  }

  // ── Attachments ────────────────────────────────────────────────────────────────────────────

  /** `GET /workorders/{id}/attachments`: the folders, each with its files (AttachmentsDto). */
  listAttachments(id: number): Promise<FnAttachmentFolder[]> {
    return this.v2<{ results?: FnAttachmentFolder[] }>({
      method: 'GET',
      path: `/workorders/${id}/attachments`,
      route: '/workorders/:id/attachments',
      idempotent: true,
    }).then((r) => r.results ?? []);
  }

  /** `POST /workorders/{id}/attachments` `{ name }`: answers the work order; its folders when it carries them. */
  async createAttachmentFolder(id: number, name: string): Promise<FnAttachmentFolder[] | undefined> {
    const wo = await this.v2<{ attachments?: { results?: FnAttachmentFolder[] } }>({
      method: 'POST',
      path: `/workorders/${id}/attachments`,
      route: '/workorders/:id/attachments',
      body: { name },
      idempotent: false,
    });
    return wo.attachments?.results;
  }

  /**
   * `POST /workorders/{id}/attachments/{folder_id}` as multipart/form-data (`file`, `notes`:
   * FileUploadRequestDto), the file's bytes streamed from `stream` as they are sent. One attempt (a
   * stream cannot be sent twice): a failure is the caller's to retry, after looking for the upload.
   * Answers the work order; its folders when it carries them.
   */
  async uploadAttachment(
    id: number,
    folderId: number,
    file: { filename: string; contentType: string; stream: AsyncIterable<Uint8Array>; notes?: string },
  ): Promise<FnAttachmentFolder[] | undefined> {
    const parts = [
      ...(file.notes ? [{ name: 'notes', value: file.notes }] : []),
      { name: 'file', filename: file.filename, contentType: file.contentType, stream: file.stream },
    ];
    const { body, contentType } = multipartStream(parts);
    const res = await this.http.stream({
      method: 'POST',
      url: new URL(`${this.origin}/api/rest/v2/workorders/${id}/attachments/${folderId}`),
      route: 'POST /workorders/:id/attachments/:folderId',
      auth: 'query',
      headers: { 'Content-Type': contentType },
      body,
    });
    const text = await readAll(res);
    try {
      return (JSON.parse(text) as { attachments?: { results?: FnAttachmentFolder[] } }).attachments?.results;
    } catch {
      return undefined;
    }
  }

  /**
   * The bytes behind an attachment's `file.link`, as a stream. The access token goes along only when
   * the link is on the API's own origin: a storage URL elsewhere is taken to be pre-signed [I].
   */
  downloadAttachment(link: string): Promise<IncomingMessage> {
    const url = new URL(link, this.origin);
    return this.http.stream({
      method: 'GET',
      url,
      route: 'GET attachment file link',
      auth: url.origin === new URL(this.origin).origin ? 'query' : 'none',
      headers: { Accept: '*/*' },
    });
  }

  // ── Webhooks v3 management ─────────────────────────────────────────────────────────────────

  createWebhook(input: WebhookInput): Promise<Webhook> {
    return this.webhooks<Webhook>({
      method: 'POST',
      path: '',
      route: '',
      body: { method: 'post', status: 'active', ...input },
      idempotent: false,
    });
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
    return this.webhooks({
      method: 'PATCH',
      path: `/delivery-logs/${deliveryId}/retry`,
      route: '/delivery-logs/:deliveryId/retry',
      idempotent: true,
    });
  }

  // ── Transport ──────────────────────────────────────────────────────────────────────────────

  private v2<T>(spec: Omit<RequestSpec, 'auth'>): Promise<T> {
    return this.http.request<T>({ ...spec, path: `/api/rest/v2${spec.path}`, route: `${spec.method} ${spec.route}`, auth: 'query' });
  }

  private async webhooks<T>(spec: Omit<RequestSpec, 'auth'>): Promise<T> {
    const res = await this.http.request<{ result: T }>({
      ...spec,
      path: `/api/v1/webhooks${spec.path}`,
      route: `${spec.method} /webhooks${spec.route}`,
      auth: 'bearer',
    });
    return res.result;
  }
}

async function readAll(res: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of res) text += (chunk as Buffer).toString('utf8');
  return text;
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
