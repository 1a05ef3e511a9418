import { readConfigFile, resolveConfigPath, type ConnectionConfig, type LoadedConfig } from '@broker/config';
import { FN_WEBHOOK_EVENTS } from '@broker/fieldnation';
import { compileObjectEventRules } from '@broker/mapping';

export interface WebhookPlan {
  connectionId: string;
  url: string;
  events: string[];
}

/** Why no plan could be made: the CLI turns `no-url` into a configuration exit code. */
export class WebhookPlanError extends Error {
  constructor(
    message: string,
    readonly reason: 'no-url' | 'no-rules' | 'no-events',
  ) {
    super(message);
    this.name = 'WebhookPlanError';
  }
}

/** Where Field Nation must deliver a connection's webhooks: the ingress route for that connection. */
export function webhookUrl(publicUrl: string, connectionId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/fieldnation/webhooks/${connectionId}`;
}

/**
 * The webhook a connection needs: its ingress endpoint and exactly the events its rules listen to.
 * Every other event would be delivered, verified, queued and skipped for nothing (Field Nation's
 * `workorder.created` alone doubles the deliveries per work order).
 */
export function webhookPlan(config: LoadedConfig, connection: ConnectionConfig, publicUrl: string | undefined): WebhookPlan {
  if (!publicUrl)
    throw new WebhookPlanError("give the ingress's public URL with --url or PUBLIC_URL (Field Nation must reach it)", 'no-url');
  return { connectionId: connection.id, url: webhookUrl(publicUrl, connection.id), events: webhookEvents(config, connection) };
}

/** Events that bring attachments over when the connection copies files to Salesforce (apps/mapper/src/file-events.ts). */
const FILE_EVENTS: readonly string[] = ['workorder.provider_upload', 'workorder.status.work_done'];

/** The Field Nation events the connection's rules listen to (and its file copies need), in Field Nation's catalogue order. */
export function webhookEvents(config: LoadedConfig, connection: ConnectionConfig): string[] {
  // The connection's rules and every object's own: one webhook carries the events of all of them.
  const ruleFiles = [
    ...(connection.eventRules ? [{ file: connection.eventRules, object: undefined as string | undefined }] : []),
    ...Object.entries(connection.objects).flatMap(([object, o]) => (o.eventRules ? [{ file: o.eventRules, object }] : [])),
  ];
  if (ruleFiles.length === 0)
    throw new WebhookPlanError(`connection ${connection.id} has no eventRules: nothing to subscribe to`, 'no-rules');
  const rules = ruleFiles.map((f) =>
    compileObjectEventRules(readConfigFile(config, f.file), { file: resolveConfigPath(config, f.file), object: f.object }),
  );
  const files = connection.files.toSalesforce;
  const events = FN_WEBHOOK_EVENTS.filter((e) => rules.some((r) => r.listensTo(e)) || (files && FILE_EVENTS.includes(e)));
  if (events.length === 0)
    throw new WebhookPlanError(
      `the event rules of ${connection.id} match no Field Nation event (${rules.flatMap((r) => r.events).join(', ')})`,
      'no-events',
    );
  return events;
}
