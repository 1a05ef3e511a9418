import { randomUUID } from 'node:crypto';
import { COMPANY, API_USER_ID } from '../work-orders/catalogue';

export type SignatureMode = 'v3' | 'legacy' | 'both';

export interface WebhookRecord {
  id: number;
  webhookId: string;
  companyId: number;
  userId: number;
  events: string[];
  url: string;
  method: 'post' | 'put';
  status: 'active' | 'inactive' | 'archived';
  secret: string;
  notificationEmail: string | null;
  modelProperties: string[];
  isIntegrationOnly: boolean;
  webhookAttribute: { header: Record<string, string> };
  /** Simulator extension: how deliveries are signed (default from the sim options). */
  signatureMode: SignatureMode | null;
  createdAt: string;
  updatedAt: string;
}

export interface WebhookHistoryEntry {
  id: number;
  webhookId: string;
  userId: number;
  action: 'created' | 'updated' | 'deleted' | 'status_changed' | 'events_updated' | 'attribute_removed';
  changes: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

export interface WebhookInput {
  url: string;
  method?: 'post' | 'put';
  status?: 'active' | 'inactive' | 'archived';
  events: string[];
  secret?: string;
  notificationEmail?: string | null;
  modelProperties?: string[];
  isIntegrationOnly?: boolean;
  webhookAttribute?: { header?: Record<string, string> };
  signatureMode?: SignatureMode;
}

export class WebhookRegistry {
  private readonly hooks = new Map<string, WebhookRecord>();
  private readonly history: WebhookHistoryEntry[] = [];
  private nextId = 1;
  private nextHistoryId = 1;

  reset(): void {
    this.hooks.clear();
    this.history.length = 0;
  }

  list(): WebhookRecord[] {
    return [...this.hooks.values()];
  }

  get(webhookId: string): WebhookRecord | undefined {
    return this.hooks.get(webhookId);
  }

  /** Active webhooks subscribed to an event, in creation order. */
  subscribers(eventName: string): WebhookRecord[] {
    return this.list().filter((h) => h.status === 'active' && h.events.includes(eventName));
  }

  create(input: WebhookInput, userId = API_USER_ID): WebhookRecord {
    const now = new Date().toISOString();
    const hook: WebhookRecord = {
      id: this.nextId++,
      webhookId: randomUUID(),
      companyId: COMPANY.id,
      userId,
      events: [...new Set(input.events)],
      url: input.url,
      method: input.method ?? 'post',
      status: input.status ?? 'active',
      secret: input.secret ?? randomUUID(),
      notificationEmail: input.notificationEmail ?? null,
      modelProperties: input.modelProperties ?? [],
      isIntegrationOnly: input.isIntegrationOnly ?? false,
      webhookAttribute: { header: { ...(input.webhookAttribute?.header ?? {}) } },
      signatureMode: input.signatureMode ?? null,
      createdAt: now,
      updatedAt: now,
    };
    this.hooks.set(hook.webhookId, hook);
    this.record(hook, userId, 'created', { ...hook, secret: '[hidden]' });
    return hook;
  }

  update(webhookId: string, input: Partial<WebhookInput>, userId = API_USER_ID): WebhookRecord | undefined {
    const hook = this.hooks.get(webhookId);
    if (!hook) return undefined;
    const changes: Record<string, unknown> = {};
    const set = <K extends keyof WebhookRecord>(key: K, value: WebhookRecord[K] | undefined) => {
      if (value === undefined || JSON.stringify(value) === JSON.stringify(hook[key])) return;
      changes[key] = { from: key === 'secret' ? '[hidden]' : hook[key], to: key === 'secret' ? '[hidden]' : value };
      hook[key] = value;
    };
    set('url', input.url);
    set('method', input.method);
    set('status', input.status);
    set('events', input.events ? [...new Set(input.events)] : undefined);
    set('secret', input.secret);
    set('notificationEmail', input.notificationEmail);
    set('modelProperties', input.modelProperties);
    set('isIntegrationOnly', input.isIntegrationOnly);
    set('signatureMode', input.signatureMode);
    if (input.webhookAttribute?.header)
      set('webhookAttribute', { header: { ...hook.webhookAttribute.header, ...input.webhookAttribute.header } });
    hook.updatedAt = new Date().toISOString();
    const action =
      Object.keys(changes).length === 1 && changes.status
        ? 'status_changed'
        : Object.keys(changes).length === 1 && changes.events
          ? 'events_updated'
          : 'updated';
    this.record(hook, userId, action, changes);
    return hook;
  }

  removeAttribute(webhookId: string, type: string, name: string, userId = API_USER_ID): WebhookRecord | undefined {
    const hook = this.hooks.get(webhookId);
    if (!hook || type !== 'header' || !(name in hook.webhookAttribute.header)) return undefined;
    delete hook.webhookAttribute.header[name];
    hook.updatedAt = new Date().toISOString();
    this.record(hook, userId, 'attribute_removed', { header: name });
    return hook;
  }

  delete(webhookId: string, userId = API_USER_ID): WebhookRecord | undefined {
    const hook = this.hooks.get(webhookId);
    if (!hook) return undefined;
    this.hooks.delete(webhookId);
    this.record(hook, userId, 'deleted', {});
    return hook;
  }

  historyOf(webhookId: string): WebhookHistoryEntry[] {
    return this.history.filter((h) => h.webhookId === webhookId);
  }

  private record(hook: WebhookRecord, userId: number, action: WebhookHistoryEntry['action'], changes: Record<string, unknown>): void {
    const now = new Date().toISOString();
    this.history.push({ id: this.nextHistoryId++, webhookId: hook.webhookId, userId, action, changes, createdAt: now, updatedAt: now });
  }
}
