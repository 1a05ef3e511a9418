// The webhook a connection has on Field Nation against the one it needs (webhookPlan), and the
// register-or-repair step: what `broker fieldnation webhook --apply` and the dashboard's button do.
import type { FieldNationClient } from '@broker/fieldnation';
import type { WebhookPlan } from './webhook-plan';

type Webhook = Awaited<ReturnType<FieldNationClient['listWebhooks']>>[number];

export interface WebhookStatus {
  plan: WebhookPlan;
  /** `missing`: none delivers to the plan's URL; `duplicated`: several do (every event arrives that many times). */
  state: 'ok' | 'missing' | 'needs-repair' | 'duplicated';
  hook?: Webhook;
  problems: string[];
}

/** One Field Nation request (the webhook list). */
export async function webhookStatus(client: Pick<FieldNationClient, 'listWebhooks'>, plan: WebhookPlan): Promise<WebhookStatus> {
  const matching = (await client.listWebhooks()).filter((h) => h.url === plan.url);
  if (matching.length === 0) return { plan, state: 'missing', problems: [`no webhook delivers to ${plan.url}`] };
  if (matching.length > 1)
    return {
      plan,
      state: 'duplicated',
      hook: matching[0],
      problems: [`${matching.length} webhooks deliver to ${plan.url} (${matching.map((h) => h.webhookId).join(', ')}): delete all but one`],
    };
  const hook = matching[0]!;
  const problems: string[] = [];
  if (hook.status !== 'active') problems.push(`status is ${hook.status}, not active`);
  const missing = plan.events.filter((e) => !hook.events.includes(e));
  const extra = hook.events.filter((e) => !plan.events.includes(e));
  if (missing.length) problems.push(`missing events the rules use: ${missing.join(', ')}`);
  if (extra.length) problems.push(`extra events no rule uses: ${extra.join(', ')}`);
  return { plan, state: problems.length ? 'needs-repair' : 'ok', hook, problems };
}

/** Create the plan's webhook, or bring the one delivering to its URL in line (events, active, secret). */
export async function applyWebhookPlan(
  client: Pick<FieldNationClient, 'listWebhooks' | 'createWebhook' | 'updateWebhook'>,
  plan: WebhookPlan,
  secret: string,
): Promise<{ action: 'created' | 'updated'; webhookId: string }> {
  const existing = (await client.listWebhooks()).find((w) => w.url === plan.url);
  const body = { url: plan.url, events: plan.events, method: 'post' as const, status: 'active' as const, secret };
  if (existing) {
    await client.updateWebhook(existing.webhookId, body);
    return { action: 'updated', webhookId: existing.webhookId };
  }
  const created = await client.createWebhook(body);
  return { action: 'created', webhookId: created.webhookId };
}
