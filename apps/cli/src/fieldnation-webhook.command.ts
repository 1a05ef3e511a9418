import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { ConfigError, loadConfig, type ConnectionConfig, type LoadedConfig } from '@broker/config';
import { FieldNationClient, FN_WEBHOOK_EVENTS } from '@broker/fieldnation';
import { applyWebhookPlan, webhookPlan as planWebhook, WebhookPlanError, type WebhookPlan } from '@broker/preflight';
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
    io.out(
      `${plan.connectionId}: POST ${plan.url}, signed with fieldnation.webhookSecret, ${plan.events.length} of ${FN_WEBHOOK_EVENTS.length} events:`,
    );
    for (const e of plan.events) io.out(`  ${e}`);
    if (!options.apply) continue;
    const client = new FieldNationClient({
      environment: connection.fieldnation.environment,
      credentials: connection.fieldnation.auth,
      connectTimeoutMs: connection.fieldnation.connectTimeoutMs,
      timeoutMs: connection.fieldnation.timeoutMs,
    });
    const done = await applyWebhookPlan(client, plan, connection.fieldnation.webhookSecret);
    io.out(`  ${done.action} webhook ${done.webhookId}`);
  }
  if (!options.apply) io.out('(nothing changed: add --apply to create or update the webhook on Field Nation)');
  return 0;
}

const SECRET_PATH = /^connections\[(\d+)\]\.fieldnation\.webhookSecret$/;

/**
 * Loads the config for `broker fieldnation webhook`. When the only problem is a missing or non-UUID
 * `fieldnation.webhookSecret`, it generates a UUID per such connection and says where to store it (the
 * environment variable the file reads the key from), instead of only failing: Field Nation's webhooks
 * API accepts UUID secrets only, and the ingress must know the secret before the webhook exists.
 */
export function loadWebhookConfig(file: string, io: CliIo): LoadedConfig {
  try {
    return loadConfig(file);
  } catch (err) {
    if (!(err instanceof ConfigError) || !err.issues.every((i) => SECRET_PATH.test(i.path))) throw err;
    const raw = parseDocument(readFileSync(file, 'utf8')).toJS() as {
      connections?: Array<{ id?: string; fieldnation?: { webhookSecret?: unknown } }>;
    };
    const indexes = [...new Set(err.issues.map((i) => Number(SECRET_PATH.exec(i.path)![1])))];
    for (const index of indexes) {
      const connection = raw.connections?.[index];
      const written = connection?.fieldnation?.webhookSecret;
      const variable = typeof written === 'string' ? /\$\{([A-Za-z_][A-Za-z0-9_]*)/.exec(written)?.[1] : undefined;
      io.out(
        `${connection?.id ?? `connections[${index}]`}: fieldnation.webhookSecret is missing or not a UUID (Field Nation accepts UUID secrets only). A new one:`,
      );
      io.out(`  ${randomUUID()}`);
      io.out(
        variable
          ? `  Store it in the environment variable ${variable} (${file} reads fieldnation.webhookSecret from it) wherever the ingress and this command get their environment, restart the ingress, then run this command again with --apply.`
          : `  Set fieldnation.webhookSecret to \${FN_WEBHOOK_SECRET} in ${file} and store it in FN_WEBHOOK_SECRET (keep secrets out of the file), restart the ingress, then run this command again with --apply.`,
      );
    }
    throw new CliError('no usable webhook secret yet: store the generated one as shown above', 78);
  }
}
