import { makeId } from '@broker/salesforce';
import type { SimContext } from '../sim-context';
import type { OutboundMessage } from './automation';
import type { EnvelopeNotification } from './om-envelope';
import { renderNotificationsCall } from './om-soap-client';
import { postEnvelope, type AttemptResult } from './outbound-sender';

export type NotificationStatus = 'pending' | 'delivered' | 'dropped';

export interface NotificationAttempt {
  /** Virtual time of the attempt. */
  at: number;
  ok: boolean;
  httpStatus?: number;
  error?: string;
  deliveryId: number;
}

export interface OutboundNotification {
  id: string;
  outboundMessage: string;
  actionId: string;
  object: string;
  recordId: string;
  flow?: string;
  status: NotificationStatus;
  createdAt: number;
  nextAttemptAt: number;
  attempts: NotificationAttempt[];
  deliveredAt?: number;
  droppedAt?: number;
  dropReason?: 'expired' | 'record deleted' | 'definition removed' | 'manual';
  inFlight: boolean;
}

export interface DeliveryRecord {
  id: number;
  outboundMessage: string;
  endpointUrl: string;
  notificationIds: string[];
  at: number;
  ok: boolean;
  duplicate: boolean;
  httpStatus?: number;
  error?: string;
  durationMs: number;
}

/** Gap before retry number `failures` (1 = after the first failure): base × 2^(n-1), capped. */
export function retryGap(failures: number, baseMs: number, maxGapMs: number): number {
  return Math.min(maxGapMs, baseMs * 2 ** Math.max(0, failures - 1));
}

function shuffle<T>(items: T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

const MAX_TIMER_MS = 60_000;

/**
 * Salesforce's outbound queue: notifications of one definition queued together go out in one POST
 * (≤ batch size), failures retry with exponential gaps capped at `outboundRetryMaxGapMs`, anything older
 * than `outboundMaxAgeMs` is dropped, and a redelivery reuses the notification ids. Data is read at
 * send time. All times are virtual (see VirtualClock).
 */
export class OutboundQueue {
  private readonly notifications = new Map<string, OutboundNotification>();
  private readonly deliveries: DeliveryRecord[] = [];
  private readonly inFlight = new Map<string, number>();
  private readonly running = new Set<Promise<void>>();
  private readonly omSessions = new Map<string, string>();
  private counter = 0;
  private deliveryCounter = 0;
  private timer: NodeJS.Timeout | undefined;
  private pumpQueued = false;
  private closed = false;

  constructor(private readonly ctx: SimContext) {
    ctx.clock.on('advanced', this.onAdvance);
  }

  private readonly onAdvance = () => this.schedulePump();

  enqueue(om: OutboundMessage, recordId: string, flow?: string): OutboundNotification {
    const now = this.ctx.clock.now();
    const n: OutboundNotification = {
      id: makeId('04l', ++this.counter),
      outboundMessage: om.name,
      actionId: om.id,
      object: om.object,
      recordId,
      flow,
      status: 'pending',
      createdAt: now,
      nextAttemptAt: now,
      attempts: [],
      inFlight: false,
    };
    this.notifications.set(n.id, n);
    this.schedulePump();
    return n;
  }

  list(filter: { status?: NotificationStatus; outboundMessage?: string } = {}): OutboundNotification[] {
    return [...this.notifications.values()]
      .filter(
        (n) => (!filter.status || n.status === filter.status) && (!filter.outboundMessage || n.outboundMessage === filter.outboundMessage),
      )
      .map((n) => ({ ...n, attempts: [...n.attempts] }));
  }

  deliveryLog(): DeliveryRecord[] {
    return this.deliveries.map((d) => ({ ...d }));
  }

  /** Make every pending notification due now and wait until the queue has nothing due or in flight. */
  async flush(): Promise<void> {
    const now = this.ctx.clock.now();
    for (const n of this.notifications.values())
      if (n.status === 'pending' && !n.inFlight) n.nextAttemptAt = Math.min(n.nextAttemptAt, now);
    this.pump();
    await this.idle();
  }

  /** Wait until nothing is due now and nothing is in flight. */
  async idle(): Promise<void> {
    for (;;) {
      if (this.pumpQueued) await new Promise((r) => setImmediate(r));
      if (this.running.size) {
        await Promise.allSettled([...this.running]);
        continue;
      }
      const now = this.ctx.clock.now();
      const due = [...this.notifications.values()].some((n) => n.status === 'pending' && !n.inFlight && n.nextAttemptAt <= now);
      if (!due && !this.pumpQueued) return;
      this.pump();
      await new Promise((r) => setImmediate(r));
    }
  }

  drop(ids?: string[]): number {
    let n = 0;
    for (const note of this.notifications.values()) {
      if (note.status !== 'pending' || (ids && !ids.includes(note.id))) continue;
      this.markDropped(note, 'manual');
      n++;
    }
    return n;
  }

  private markDropped(n: OutboundNotification, reason: OutboundNotification['dropReason']): void {
    n.status = 'dropped';
    n.droppedAt = this.ctx.clock.now();
    n.dropReason = reason;
  }

  schedulePump(): void {
    if (this.pumpQueued || this.closed) return;
    this.pumpQueued = true;
    // setImmediate: saves made in the same tick (a collection, a composite) share one POST.
    setImmediate(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.closed) return;
    const now = this.ctx.clock.now();
    const s = this.ctx.settings;
    const due = new Map<string, OutboundNotification[]>();
    for (const n of this.notifications.values()) {
      if (n.status !== 'pending' || n.inFlight) continue;
      if (now - n.createdAt >= s.outboundMaxAgeMs) {
        this.markDropped(n, 'expired');
        continue;
      }
      if (n.nextAttemptAt > now) continue;
      const list = due.get(n.outboundMessage) ?? [];
      list.push(n);
      due.set(n.outboundMessage, list);
    }
    for (const [omName, list] of due) {
      const om = this.ctx.automation.outboundMessage(omName);
      if (!om) {
        for (const n of list) this.markDropped(n, 'definition removed');
        continue;
      }
      list.sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.createdAt - b.createdAt || a.id.localeCompare(b.id));
      const limit = om.concurrency ?? s.outboundConcurrency;
      while (list.length && (this.inFlight.get(omName) ?? 0) < limit) {
        const batch = list.splice(0, s.outboundBatchSize);
        this.track(this.send(om, batch));
      }
    }
    this.armTimer();
  }

  private track(p: Promise<void>): void {
    this.running.add(p);
    void p
      .catch((err: unknown) => this.ctx.logger.error({ err }, 'outbound delivery crashed'))
      .finally(() => {
        this.running.delete(p);
        this.schedulePump();
      });
  }

  private armTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    let next = Infinity;
    for (const n of this.notifications.values()) {
      if (n.status !== 'pending' || n.inFlight) continue;
      next = Math.min(next, n.nextAttemptAt, n.createdAt + this.ctx.settings.outboundMaxAgeMs);
    }
    if (next === Infinity || this.closed) return;
    const delay = Math.min(MAX_TIMER_MS, this.ctx.clock.realDelayUntil(next));
    this.timer = setTimeout(() => this.pump(), delay);
    this.timer.unref();
  }

  private sessionFor(om: OutboundMessage): string | undefined {
    if (!om.includeSessionId) return undefined;
    const existing = this.omSessions.get(om.name);
    if (existing && this.ctx.sessions.use(existing)) return existing;
    const user =
      this.ctx.store.findUser(om.integrationUser ?? '') ?? this.ctx.store.findUser(this.ctx.config.credentials[0]?.username ?? '');
    if (!user) return undefined;
    const session = this.ctx.sessions.create(String(user.Id), String(user.Username), 'outbound');
    this.omSessions.set(om.name, session.token);
    return session.token;
  }

  private async send(om: OutboundMessage, batch: OutboundNotification[]): Promise<void> {
    const ctx = this.ctx;
    const o = ctx.model.object(om.object)!;
    const live: { n: OutboundNotification; env: EnvelopeNotification }[] = [];
    for (const n of batch) {
      const found = ctx.store.get(n.recordId);
      if (!found) {
        this.markDropped(n, 'record deleted');
        continue;
      }
      const fields = [o.field('Id')!, ...om.fields.filter((f) => f !== 'Id').map((f) => o.field(f)!)];
      live.push({ n, env: { id: n.id, object: o, values: fields.map((f) => ({ field: f, value: ctx.store.value(o, found.record, f) })) } });
    }
    if (!live.length) return;
    const faults = om.faults ?? {};
    const ordered = faults.shuffle ? shuffle(live) : live;
    for (const { n } of ordered) n.inFlight = true;
    this.inFlight.set(om.name, (this.inFlight.get(om.name) ?? 0) + 1);
    try {
      const base = ctx.baseUrl();
      const xml = await renderNotificationsCall(om.endpointUrl, om.fields, {
        organizationId: ctx.orgId,
        actionId: om.id,
        sessionId: this.sessionFor(om),
        enterpriseUrl: `${base}/services/Soap/c/${om.apiVersion}/${ctx.orgId15}`,
        partnerUrl: `${base}/services/Soap/u/${om.apiVersion}/${ctx.orgId15}`,
        notifications: ordered.map((l) => l.env),
      });
      const at = ctx.clock.now();
      if (faults.delayMs) await new Promise((r) => setTimeout(r, faults.delayMs));
      const result: AttemptResult = faults.refuse
        ? { ok: false, error: 'ECONNREFUSED (simulated)', durationMs: 0 }
        : await postEnvelope(om.endpointUrl, xml, ctx.settings.outboundAttemptTimeoutMs);
      const delivery = this.record(
        om,
        ordered.map((l) => l.n.id),
        at,
        result,
        false,
      );
      for (const { n } of ordered) {
        n.attempts.push({ at, ok: result.ok, httpStatus: result.httpStatus, error: result.error, deliveryId: delivery.id });
        if (n.status !== 'pending') continue;
        if (result.ok) {
          n.status = 'delivered';
          n.deliveredAt = ctx.clock.now();
        } else {
          const failures = n.attempts.filter((a) => !a.ok).length;
          n.nextAttemptAt = at + retryGap(failures, ctx.settings.outboundRetryBaseMs, ctx.settings.outboundRetryMaxGapMs);
        }
      }
      ctx.logger.debug({ om: om.name, notifications: ordered.length, ok: result.ok, error: result.error }, 'outbound delivery attempt');
      if (result.ok && faults.duplicateAfterAck && !this.closed) {
        // At-least-once: Salesforce may resend a batch it did not record as acknowledged.
        const again = await postEnvelope(om.endpointUrl, xml, ctx.settings.outboundAttemptTimeoutMs);
        this.record(
          om,
          ordered.map((l) => l.n.id),
          ctx.clock.now(),
          again,
          true,
        );
      }
    } finally {
      for (const { n } of ordered) n.inFlight = false;
      this.inFlight.set(om.name, (this.inFlight.get(om.name) ?? 1) - 1);
    }
  }

  private record(om: OutboundMessage, ids: string[], at: number, r: AttemptResult, duplicate: boolean): DeliveryRecord {
    const d: DeliveryRecord = {
      id: ++this.deliveryCounter,
      outboundMessage: om.name,
      endpointUrl: om.endpointUrl,
      notificationIds: ids,
      at,
      ok: r.ok,
      duplicate,
      httpStatus: r.httpStatus,
      error: r.error,
      durationMs: r.durationMs,
    };
    this.deliveries.push(d);
    if (this.deliveries.length > 10_000) this.deliveries.shift();
    return d;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.ctx.clock.off('advanced', this.onAdvance);
    if (this.timer) clearTimeout(this.timer);
    await Promise.allSettled([...this.running]);
  }
}
