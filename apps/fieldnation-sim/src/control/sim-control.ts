import { SimError } from '../core/sim-error';
import type { CountersSnapshot, Counters } from '../core/counters';
import type { Fault, FaultInjector, FaultSpec } from '../core/fault-injector';
import type { RateLimiter } from '../core/rate-limiter';
import type { RateLimitOptions } from '../sim-options';
import type { TokenStore } from '../auth/token-store';
import { API_USER_ID, DEFAULT_PROVIDER_ID, DISPATCHER_USER_ID, findUser, type SimUser } from '../work-orders/catalogue';
import { EVENT_CATALOGUE } from '../work-orders/work-order-events';
import type { WorkOrderService } from '../work-orders/work-order.service';
import type { AttachmentRecord, AttachmentStore } from '../work-orders/attachments';
import type { WebhookInput, WebhookRecord, WebhookRegistry } from '../webhooks/webhook-registry';
import type { DeliveryFaultSpec, DeliveryRecord, WebhookSender } from '../webhooks/webhook-sender';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A REST v2 work order as JSON (the same object GET /workorders/{id} answers). */
export type WorkOrderJson = Record<string, unknown> & { id: number; status: { id: number; name: string; sub_status: string | null } };

export interface ProviderOptions {
  /** Provider user id; defaults to the assignee, else 557 (Tess Technician). */
  providerId?: number;
}

/** The technician (provider) side: what the Field Nation mobile app would do. */
export interface TechnicianActions {
  request(workOrderId: number, options?: ProviderOptions): WorkOrderJson;
  decline(workOrderId: number, options?: ProviderOptions): WorkOrderJson;
  acceptRoute(workOrderId: number, options?: ProviderOptions): WorkOrderJson;
  confirm(workOrderId: number, options?: ProviderOptions): WorkOrderJson;
  onMyWay(workOrderId: number, options?: ProviderOptions): WorkOrderJson;
  runningLate(workOrderId: number, options?: ProviderOptions & { delaySeconds?: number }): WorkOrderJson;
  checkIn(workOrderId: number, options?: ProviderOptions): WorkOrderJson;
  checkOut(workOrderId: number, options?: ProviderOptions): WorkOrderJson;
  complete(workOrderId: number, options?: ProviderOptions & { closeoutNotes?: string }): WorkOrderJson;
  /** Returns the new message id. */
  postMessage(workOrderId: number, message: string, options?: ProviderOptions & { parentId?: string }): string;
  /**
   * Upload a file from the provider app (emits `workorder.provider_upload`); into `folder` (default
   * "Deliverables", made when missing). Returns the attachment id.
   */
  upload(workOrderId: number, file: SimUpload, options?: ProviderOptions & { folder?: string }): number;
}

/** A file an in-process helper uploads: its bytes, or a file on disk (moved into the simulator). */
export interface SimUpload {
  name: string;
  mime?: string;
  content?: Buffer | string;
  path?: string;
  notes?: string;
}

/** An attachment as the simulator keeps it (for assertions): metadata, and where its bytes are. */
export interface AttachmentInfo {
  id: number;
  folderId: number;
  folder: string;
  name: string;
  mime: string;
  size: number;
  notes: string;
  authorId: number;
  /** The bytes on disk (read them in a test with fs). */
  path: string;
}

export interface BuyerUserOptions {
  /** Buyer user acting in the Field Nation UI; default 1069 (Dana Dispatcher), not the API user. */
  userId?: number;
}

/** A human buyer working in the Field Nation UI (not the broker's API user). */
export interface DispatcherActions {
  publish(workOrderId: number, options?: BuyerUserOptions): WorkOrderJson;
  route(workOrderId: number, providerId: number, options?: BuyerUserOptions): WorkOrderJson;
  assign(workOrderId: number, providerId: number, options?: BuyerUserOptions): WorkOrderJson;
  approve(workOrderId: number, options?: BuyerUserOptions): WorkOrderJson;
  incomplete(workOrderId: number, options?: BuyerUserOptions & { reason?: string }): WorkOrderJson;
  cancel(workOrderId: number, options?: BuyerUserOptions & { reason?: string | number }): WorkOrderJson;
  setCustomField(workOrderId: number, fieldId: number, value: string, options?: BuyerUserOptions): WorkOrderJson;
  postMessage(workOrderId: number, message: string, options?: BuyerUserOptions & { parentId?: string }): string;
  /** A dispatcher adds a file in the Field Nation UI (no webhook event: not a provider upload). Returns the attachment id. */
  upload(workOrderId: number, file: SimUpload, options?: BuyerUserOptions & { folder?: string }): number;
}

export interface RegisterWebhookInput extends Omit<WebhookInput, 'events'> {
  /** Default: every event of the catalogue. */
  events?: string[];
}

export interface ControlDeps {
  service: WorkOrderService;
  attachments: AttachmentStore;
  registry: WebhookRegistry;
  sender: WebhookSender;
  faults: FaultInjector;
  counters: Counters;
  tokens: TokenStore;
  rateLimiter: RateLimiter;
  state: { timeFactor: number };
}

/** Everything the `/__sim` control API and the in-process helpers do, in one place. */
export class SimControl {
  readonly technician: TechnicianActions;
  readonly buyer: DispatcherActions;

  constructor(private readonly deps: ControlDeps) {
    const { service } = deps;
    const json = (wo: Parameters<WorkOrderService['render']>[0]) => service.render(wo) as WorkOrderJson;
    this.technician = {
      request: (id, o) => json(service.request(id, o?.providerId ?? DEFAULT_PROVIDER_ID)),
      decline: (id, o) => json(service.decline(id, o?.providerId ?? DEFAULT_PROVIDER_ID)),
      acceptRoute: (id, o) => json(service.acceptRoute(id, o?.providerId ?? firstRouted(service, id))),
      confirm: (id, o) => json(service.confirm(id, o?.providerId)),
      onMyWay: (id, o) => json(service.onMyWay(id, o?.providerId)),
      runningLate: (id, o) => json(service.runningLate(id, o?.delaySeconds, o?.providerId)),
      checkIn: (id, o) => json(service.checkIn(id, o?.providerId)),
      checkOut: (id, o) => json(service.checkOut(id, o?.providerId)),
      complete: (id, o) => json(service.complete(id, { providerId: o?.providerId, closeoutNotes: o?.closeoutNotes })),
      postMessage: (id, message, o) => {
        const wo = service.get(id);
        const provider = findUser(o?.providerId ?? wo.assigneeId ?? DEFAULT_PROVIDER_ID);
        if (!provider || provider.role !== 'provider') throw new SimError(404, `Provider ${o?.providerId} not found`);
        return service.postMessage(id, { message, parentId: o?.parentId, type: o?.parentId ? undefined : 'FROMTECH' }, provider).msg_id;
      },
      upload: (id, file, o) => {
        const wo = service.get(id);
        const provider = findUser(o?.providerId ?? wo.assigneeId ?? DEFAULT_PROVIDER_ID);
        if (!provider || provider.role !== 'provider') throw new SimError(404, `Provider ${o?.providerId} not found`);
        const folder = deps.attachments.folderNamed(id, o?.folder ?? 'Deliverables');
        const input = { name: file.name, mime: file.mime, notes: file.notes, content: file.content, tmpPath: file.path };
        return deps.attachments.addFile(id, folder.id, input, provider).id;
      },
    };
    const buyer = (o?: BuyerUserOptions): SimUser => {
      const user = findUser(o?.userId ?? DISPATCHER_USER_ID);
      if (!user || user.role !== 'buyer') throw new SimError(404, `Buyer user ${o?.userId} not found`);
      return user;
    };
    this.buyer = {
      publish: (id, o) => json(service.publish(id, buyer(o))),
      route: (id, providerId, o) => json(service.route(id, [providerId], buyer(o))),
      assign: (id, providerId, o) => json(service.assign(id, providerId, buyer(o))),
      approve: (id, o) => json(service.approve(id, buyer(o))),
      incomplete: (id, o) => json(service.incomplete(id, o?.reason, buyer(o))),
      cancel: (id, o) => json(service.cancel(id, o?.reason, buyer(o))),
      setCustomField: (id, fieldId, value, o) => json(service.setCustomField(id, fieldId, value, buyer(o))),
      postMessage: (id, message, o) => service.postMessage(id, { message, parentId: o?.parentId }, buyer(o)).msg_id,
      upload: (id, file, o) => {
        const folder = deps.attachments.folderNamed(id, o?.folder ?? 'Documents');
        const input = { name: file.name, mime: file.mime, notes: file.notes, content: file.content, tmpPath: file.path };
        return deps.attachments.addFile(id, folder.id, input, buyer(o)).id;
      },
    };
  }

  /** The platform's payment run for one work order (Approved → Paid). */
  pay(workOrderId: number): WorkOrderJson {
    return this.deps.service.render(this.deps.service.pay(workOrderId, platformUser())) as WorkOrderJson;
  }

  /** Pays every approved work order; returns their ids. */
  runPayments(): number[] {
    return this.deps.service.runPayments(platformUser());
  }

  getWorkOrder(id: number): WorkOrderJson | undefined {
    try {
      return this.deps.service.render(this.deps.service.get(id)) as WorkOrderJson;
    } catch {
      return undefined;
    }
  }

  listWorkOrders(): WorkOrderJson[] {
    return this.deps.service.all().map((wo) => this.deps.service.render(wo) as WorkOrderJson);
  }

  /** Every attachment of a work order, folder by folder. */
  attachmentsOf(workOrderId: number): AttachmentInfo[] {
    return this.deps.attachments.folderList(workOrderId).flatMap((f) =>
      f.files.map((a: AttachmentRecord) => ({
        id: a.id,
        folderId: f.id,
        folder: f.name,
        name: a.name,
        mime: a.mime,
        size: a.size,
        notes: a.notes,
        authorId: a.author.id,
        path: a.blobPath,
      })),
    );
  }

  counters(): CountersSnapshot {
    return this.deps.counters.snapshot();
  }

  resetCounters(): void {
    this.deps.counters.reset();
  }

  injectFault(spec: FaultSpec): Fault {
    return this.deps.faults.add(spec);
  }

  listFaults(): Fault[] {
    return this.deps.faults.list();
  }

  removeFault(id: string): boolean {
    return this.deps.faults.remove(id);
  }

  /** Clears HTTP and delivery faults. */
  clearFaults(): void {
    this.deps.faults.clear();
    this.deps.sender.clearFaults();
  }

  injectDeliveryFault(spec: DeliveryFaultSpec): void {
    this.deps.sender.injectFault(spec);
  }

  /** Registers a webhook directly (no token needed); https-only rules are not applied here, the UUID secret rule is. */
  registerWebhook(input: RegisterWebhookInput): WebhookRecord {
    // Same rule as the API: a harness must not run with a secret Field Nation would refuse.
    if (input.secret !== undefined && !UUID.test(input.secret))
      throw new Error(`webhook secret must be a UUID (webhooks-v3.yaml), got ${input.secret.length} characters that are not one`);
    return this.deps.registry.create({ ...input, events: input.events ?? EVENT_CATALOGUE.map((e) => e.name) });
  }

  listWebhooks(): WebhookRecord[] {
    return this.deps.registry.list();
  }

  deliveries(filter?: Parameters<WebhookSender['list']>[0]): DeliveryRecord[] {
    return this.deps.sender.list(filter);
  }

  /** False for an unknown delivery; throws a 409 SimError while an attempt is in flight or before the first one. */
  retryDelivery(deliveryId: string): boolean {
    return this.deps.sender.retry(deliveryId) !== undefined;
  }

  /** Resolves once no delivery is queued, in flight or waiting for a retry. */
  waitForDeliveries(timeoutMs?: number): Promise<void> {
    return this.deps.sender.waitForIdle(timeoutMs);
  }

  setTimeFactor(factor: number): void {
    if (!(factor > 0)) throw new Error('time factor must be > 0');
    this.deps.state.timeFactor = factor;
  }

  get timeFactor(): number {
    return this.deps.state.timeFactor;
  }

  /** Expire every issued access token now; returns how many. */
  expireTokens(): number {
    return this.deps.tokens.expireAll();
  }

  setRateLimit(limits: RateLimitOptions | false): void {
    this.deps.rateLimiter.configure(limits);
  }

  /** Forget work orders, webhooks, deliveries, tokens, faults and counters. */
  reset(): void {
    this.deps.service.reset();
    this.deps.attachments.reset();
    this.deps.registry.reset();
    this.deps.sender.reset();
    this.deps.faults.clear();
    this.deps.counters.reset();
    this.deps.tokens.reset();
    this.deps.rateLimiter.reset();
  }
}

/** Payment runs are attributed to the API user's company account [I]. */
const platformUser = (): SimUser => findUser(API_USER_ID)!;

function firstRouted(service: WorkOrderService, id: number): number {
  const routed = service.get(id).routes[0];
  return routed?.provider_id ?? DEFAULT_PROVIDER_ID;
}
