import { randomUUID } from 'node:crypto';
import type { FieldNationWebhookPayload } from '@broker/contracts/fieldnation';
import type { Logger } from '@broker/runtime';
import { isoWithOffset } from '../core/date-time';
import { SimError } from '../core/sim-error';
import { COMPANY } from '../work-orders/catalogue';
import type { EmittedBatch } from '../work-orders/work-order-events';
import type { WebhookDeliveryOptions } from '../sim-options';
import type { WebhookRecord, WebhookRegistry } from './webhook-registry';
import { signLegacy, signV3 } from './webhook-signing';

export interface DeliveryAttempt {
  attempt: number;
  at: number;
  /** HTTP status, null on timeout or connection error. */
  status: number | null;
  error: string | null;
  durationMs: number;
  manual: boolean;
}

export type DeliveryStatus = 'pending' | 'retrying' | 'delivered' | 'failed';

export interface DeliveryRecord {
  /** The uuid part of X-FN-Delivery-Id; identical across attempts. */
  deliveryId: string;
  /** Global production order (1, 2, 3…). */
  seq: number;
  webhookId: string;
  eventName: string;
  workOrderId: number;
  traceId: string;
  url: string;
  /** The exact bytes sent (and signed) on every attempt. */
  body: string;
  createdAt: number;
  attempts: DeliveryAttempt[];
  deliveryStatus: DeliveryStatus;
  nextAttemptAt: number | null;
  duplicatesSent: number;
}

/** Delivery faults (`kind`) applied to the next `count` deliveries. */
export interface DeliveryFaultSpec {
  /** `duplicate`: a successful delivery is sent twice (same delivery id). `reorder`: a delivery is held back and sent after the next one. */
  kind: 'duplicate' | 'reorder';
  count?: number;
}

export interface WebhookSenderDeps {
  registry: WebhookRegistry;
  options: () => WebhookDeliveryOptions;
  timeFactor: () => number;
  logger: Logger;
}

type Outcome = 'delivered' | 'retry' | 'failed';

/** Why a backoff wait ended: its timer fired, a manual retry took its place, or reset/close dropped it. */
type WakeReason = 'timer' | 'manual' | 'cancelled';

interface PendingRetry {
  timer: NodeJS.Timeout;
  wake: (reason: WakeReason) => void;
}

/**
 * Signs and POSTs deliveries, one at a time per webhook, retrying 5xx/timeouts/connection errors
 * with exponential backoff and giving up on 4xx (reference §8.5).
 */
export class WebhookSender {
  private readonly deliveries: DeliveryRecord[] = [];
  private readonly queues = new Map<string, DeliveryRecord[]>();
  private readonly pumping = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Deliveries waiting out a backoff before their next automatic attempt. */
  private readonly pendingRetries = new Map<DeliveryRecord, PendingRetry>();
  /** Deliveries with an attempt on the wire; at most one attempt per delivery at a time. */
  private readonly sending = new Set<DeliveryRecord>();
  private readonly controllers = new Set<AbortController>();
  private readonly faults: Array<Required<DeliveryFaultSpec>> = [];
  private inflight = 0;
  private seq = 0;
  private closed = false;

  constructor(private readonly deps: WebhookSenderDeps) {}

  /** Fan each event of a batch out to every subscribed active webhook. */
  publish(batch: EmittedBatch): void {
    if (this.closed) return;
    for (const event of batch.events) {
      const traceId = randomUUID();
      for (const hook of this.deps.registry.subscribers(event.name)) {
        const workorder = hook.modelProperties.length
          ? Object.fromEntries(Object.entries(batch.workorder).filter(([k]) => k === 'id' || hook.modelProperties.includes(k)))
          : batch.workorder;
        const envelope: FieldNationWebhookPayload = {
          event: { name: event.name, params: event.params },
          timestamp: isoWithOffset(batch.at, COMPANY.time_zone),
          triggered_by_user: {
            id: batch.actor.id,
            first_name: batch.actor.first_name,
            last_name: batch.actor.last_name,
            role: batch.actor.role,
          },
          workorder,
        };
        const body = JSON.stringify(envelope);
        const record: DeliveryRecord = {
          deliveryId: randomUUID(),
          seq: ++this.seq,
          webhookId: hook.webhookId,
          eventName: event.name,
          workOrderId: batch.workOrderId,
          traceId,
          url: hook.url,
          body,
          createdAt: batch.at,
          attempts: [],
          deliveryStatus: 'pending',
          nextAttemptAt: Date.now(),
          duplicatesSent: 0,
        };
        this.deliveries.push(record);
        const queue = this.queues.get(hook.webhookId) ?? [];
        queue.push(record);
        this.queues.set(hook.webhookId, queue);
        // Start on the next tick so all events of the batch are queued first (the reorder fault needs a successor).
        setImmediate(() => void this.pump(hook.webhookId));
      }
    }
  }

  list(
    filter: { webhookId?: string; workOrderId?: number; eventName?: string; deliveryStatus?: string; deliveryId?: string } = {},
  ): DeliveryRecord[] {
    return this.deliveries.filter(
      (d) =>
        (!filter.webhookId || d.webhookId === filter.webhookId) &&
        (filter.workOrderId === undefined || d.workOrderId === filter.workOrderId) &&
        (!filter.eventName || d.eventName === filter.eventName) &&
        (!filter.deliveryStatus || d.deliveryStatus === filter.deliveryStatus) &&
        (!filter.deliveryId || d.deliveryId === filter.deliveryId),
    );
  }

  get(deliveryId: string): DeliveryRecord | undefined {
    return this.deliveries.find((d) => d.deliveryId === deliveryId);
  }

  injectFault(spec: DeliveryFaultSpec): void {
    this.faults.push({ kind: spec.kind, count: spec.count ?? 1 });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  private takeFault(kind: DeliveryFaultSpec['kind']): boolean {
    const fault = this.faults.find((f) => f.kind === kind && f.count > 0);
    if (!fault) return false;
    fault.count -= 1;
    if (fault.count === 0) this.faults.splice(this.faults.indexOf(fault), 1);
    return true;
  }

  /**
   * Manual re-delivery (PATCH …/retry): same uuid, next attempt number; returns a job id.
   *
   * Attempt numbers must stay unique per delivery (`uuid:N` is the receiver's idempotency key), so a
   * manual retry never runs beside another attempt of the same delivery: one waiting for its backoff
   * is sent now in place of the automatic attempt (the schedule continues from there if it fails),
   * and one not yet attempted or with an attempt on the wire is refused with 409.
   */
  retry(deliveryId: string): string | undefined {
    const record = this.get(deliveryId);
    if (!record) return undefined;
    if (this.sending.has(record)) {
      throw new SimError(409, `Delivery ${deliveryId} has an attempt in progress; retry it once that attempt has finished`);
    }
    if (record.attempts.length === 0) throw new SimError(409, `Delivery ${deliveryId} has not been attempted yet`);
    const jobId = randomUUID();
    const pending = this.pendingRetries.get(record);
    if (pending) {
      pending.wake('manual');
      return jobId;
    }
    this.inflight += 1;
    void this.attempt(record, true)
      .then((outcome) => {
        record.deliveryStatus = outcome === 'delivered' ? 'delivered' : 'failed';
        record.nextAttemptAt = null;
      })
      .finally(() => {
        this.inflight -= 1;
      });
    return jobId;
  }

  /** True when nothing is queued, in flight or waiting for a retry. */
  isIdle(): boolean {
    const queued = [...this.queues.values()].some((q) => q.length > 0);
    return !queued && this.inflight === 0 && this.pumping.size === 0 && this.timers.size === 0;
  }

  async waitForIdle(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.isIdle()) {
      if (Date.now() > deadline) throw new Error(`webhook deliveries still pending after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  reset(): void {
    // Wake strict-mode pumps parked in a backoff so they see the emptied queue and stop.
    for (const pending of [...this.pendingRetries.values()]) pending.wake('cancelled');
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const queue of this.queues.values()) queue.length = 0;
    this.queues.clear();
    this.deliveries.length = 0;
    this.faults.length = 0;
  }

  close(): void {
    this.closed = true;
    this.reset();
    for (const c of this.controllers) c.abort();
  }

  private backoffMs(nextAttempt: number): number {
    return (this.deps.options().baseBackoffMs * 2 ** (nextAttempt - 2)) / this.deps.timeFactor();
  }

  private async pump(webhookId: string): Promise<void> {
    if (this.pumping.has(webhookId)) return;
    this.pumping.add(webhookId);
    try {
      const queue = this.queues.get(webhookId) ?? [];
      while (queue.length && !this.closed) {
        if (queue.length > 1 && this.takeFault('reorder')) {
          const [first, second] = [queue[0]!, queue[1]!];
          queue[0] = second;
          queue[1] = first;
        }
        const record = queue.shift()!;
        await this.deliverWithRetries(record);
      }
    } finally {
      this.pumping.delete(webhookId);
    }
  }

  private async deliverWithRetries(record: DeliveryRecord, manual = false): Promise<void> {
    const outcome = await this.attempt(record, manual);
    if (outcome !== 'retry') {
      record.deliveryStatus = outcome;
      record.nextAttemptAt = null;
      return;
    }
    if (record.attempts.length >= this.deps.options().maxAttempts) {
      // Field Nation moves it to a dead-letter queue; PATCH …/retry re-delivers it.
      record.deliveryStatus = 'failed';
      record.nextAttemptAt = null;
      return;
    }
    const delay = this.backoffMs(record.attempts.length + 1);
    record.deliveryStatus = 'retrying';
    record.nextAttemptAt = Date.now() + delay;
    if (this.deps.options().ordering === 'strict') {
      const reason = await new Promise<WakeReason>((resolve) => this.waitForRetry(record, delay, resolve));
      if (reason !== 'cancelled' && !this.closed) await this.deliverWithRetries(record, reason === 'manual');
      return;
    }
    this.waitForRetry(record, delay, (reason) => {
      if (reason === 'cancelled' || this.closed) return;
      // Counted in flight in the same tick the timer is dropped, so waitForIdle never sees a gap.
      this.inflight += 1;
      void this.deliverWithRetries(record, reason === 'manual').finally(() => {
        this.inflight -= 1;
      });
    });
  }

  /** Parks a delivery until its backoff elapses or a manual retry wakes it early; `wake` runs once. */
  private waitForRetry(record: DeliveryRecord, delay: number, wake: (reason: WakeReason) => void): void {
    const pending: PendingRetry = {
      timer: setTimeout(() => pending.wake('timer'), delay),
      wake: (reason) => {
        clearTimeout(pending.timer);
        this.timers.delete(pending.timer);
        this.pendingRetries.delete(record);
        wake(reason);
      },
    };
    this.timers.add(pending.timer);
    this.pendingRetries.set(record, pending);
  }

  private headers(hook: WebhookRecord, record: DeliveryRecord, attempt: number): Record<string, string> {
    const options = this.deps.options();
    const mode = hook.signatureMode ?? options.signatureMode;
    const headers: Record<string, string> = {
      ...hook.webhookAttribute.header,
      'Content-Type': 'application/json',
      'User-Agent': 'FieldNation-Webhooks/3.0 (simulator)',
      'X-FN-Webhook-Id': hook.webhookId,
      'X-FN-Delivery-Id': `${record.deliveryId}:${attempt}`,
      'X-FN-Event-Trace-Id': record.traceId,
      'X-FN-Request-Timestamp': String(Date.now()),
    };
    if (options.sendEventNameHeader) headers['X-FN-Event-Name'] = record.eventName;
    if (mode !== 'legacy') headers['X-FN-Signature'] = signV3(hook.secret, record.body);
    if (mode !== 'v3') headers['Fn-Hash'] = signLegacy(hook.secret, record.body);
    return headers;
  }

  private async attempt(record: DeliveryRecord, manual: boolean): Promise<Outcome> {
    const hook = this.deps.registry.get(record.webhookId);
    if (!hook) {
      record.attempts.push({
        attempt: record.attempts.length + 1,
        at: Date.now(),
        status: null,
        error: 'webhook deleted',
        durationMs: 0,
        manual,
      });
      return 'failed';
    }
    // The number is taken and the delivery marked as sending in the same tick, before any await;
    // retry() refuses while `sending` holds it, so no two attempts can share a number.
    const attempt = record.attempts.length + 1;
    this.sending.add(record);
    const headers = this.headers(hook, record, attempt);
    const started = Date.now();
    let ok: boolean;
    let result: { status: number | null; error: string | null };
    try {
      result = await this.send(hook, record.body, headers);
      record.attempts.push({ attempt, at: started, status: result.status, error: result.error, durationMs: Date.now() - started, manual });
      ok = result.status !== null && result.status >= 200 && result.status < 300;
      this.deps.logger.debug(
        { deliveryId: record.deliveryId, attempt, event: record.eventName, status: result.status, error: result.error },
        'webhook delivery attempt',
      );
      if (ok && this.takeFault('duplicate')) {
        record.duplicatesSent += 1;
        await this.send(hook, record.body, headers);
      }
    } finally {
      this.sending.delete(record);
    }
    if (ok) return 'delivered';
    // 4xx (404/410 included) is permanent; 5xx, timeouts and connection errors are retried.
    return result.status === null || result.status >= 500 ? 'retry' : 'failed';
  }

  private async send(
    hook: WebhookRecord,
    body: string,
    headers: Record<string, string>,
  ): Promise<{ status: number | null; error: string | null }> {
    const controller = new AbortController();
    this.controllers.add(controller);
    const timer = setTimeout(() => controller.abort(new Error('timeout')), this.deps.options().timeoutMs);
    try {
      const res = await fetch(hook.url, {
        method: hook.method.toUpperCase(),
        headers,
        body,
        signal: controller.signal,
        redirect: 'manual',
      });
      await res.arrayBuffer().catch(() => undefined);
      return { status: res.status, error: null };
    } catch (err) {
      const reason = controller.signal.aborted ? 'timeout' : ((err as Error & { cause?: Error }).cause?.message ?? (err as Error).message);
      return { status: null, error: reason };
    } finally {
      clearTimeout(timer);
      this.controllers.delete(controller);
    }
  }
}
