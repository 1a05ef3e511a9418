import type { ConnectionConfig, LoadedConfig } from '@broker/config';
import { FieldNationClient, FN_WEBHOOK_EVENTS } from '@broker/fieldnation';
import { webhookPlan as planWebhook, WebhookPlanError, type WebhookPlan } from '@broker/preflight';
import { CliError, type CliIo } from './cli-io';

/** The webhook a connection needs (see @broker/preflight): plan errors become CLI errors. */
export function webhookPlan(config: LoadedConfig, connection: ConnectionConfig, publicUrl: string | undefined): WebhookPlan {
  try {
    return planWebhook(config, connection, publicUrl);
  } catch (err) {
    if (err instanceof WebhookPlanError) throw new CliError(err.message, err.reason === 'no-url' ? 78 : 1);
    throw err;
  }
}

export interface FieldnationWebhookOptions {
  connection?: string;
  url?: string;
  apply?: boolean;
}

/** Print the webhook each connection needs; with --apply, create it or bring the existing one (same URL) in line. */
export async function fieldnationWebhookCommand(config: LoadedConfig, options: FieldnationWebhookOptions, io: CliIo): Promise<number> {
  const connections = config.connections.filter((c) => !options.connection || c.id === options.connection);
  if (connections.length === 0) throw new CliError(`no connection ${options.connection}`);
  for (const connection of connections) {
    const plan = webhookPlan(config, connection, options.url);
    io.out(`${plan.connectionId}: POST ${plan.url}, signed with fieldnation.webhookSecret, ${plan.events.length} of ${FN_WEBHOOK_EVENTS.length} events:`);
    for (const e of plan.events) io.out(`  ${e}`);
    if (!options.apply) continue;
    const client = new FieldNationClient({ environment: connection.fieldnation.environment, credentials: connection.fieldnation.auth, connectTimeoutMs: connection.fieldnation.connectTimeoutMs, timeoutMs: connection.fieldnation.timeoutMs });
    const existing = (await client.listWebhooks()).find((w) => w.url === plan.url);
    const body = { url: plan.url, events: plan.events, method: 'post' as const, status: 'active' as const, secret: connection.fieldnation.webhookSecret };
    if (existing) {
      await client.updateWebhook(existing.webhookId, body);
      io.out(`  updated webhook ${existing.webhookId}`);
    } else {
      const created = await client.createWebhook(body);
      io.out(`  created webhook ${created.webhookId}`);
    }
  }
  if (!options.apply) io.out('(nothing changed: add --apply to create or update the webhook on Field Nation)');
  return 0;
}
