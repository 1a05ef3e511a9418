// What a new configuration version changes while the apps run, and what waits for a restart.
//
// Live (the next job uses it): mappings, event rules, every object setting (trigger, correlation,
// afterCreate, writeBack, messages, publishedCommentsOnly, objects added or removed), eventRules,
// reconciliation and retention (their job schedulers are re-synced), and the connection settings
// processors read per job (salesforce.integrationUserId, fieldnation.integrationUserId, messageType,
// createSettleSeconds).
// Restart: what the Salesforce and Field Nation clients and the ingress are built from when an app
// starts (credentials, endpoints, timeouts, rate limits, the public endpoints' security settings), and
// the set of connections. A new version that changes them is saved and its live part applied; these
// settings keep their start-up values until each app restarts, and the apps log which ones wait.

/** Settings of a connection that take effect only when the apps restart. */
export const RESTART_CONNECTION_SETTINGS = [
  'salesforce.instance',
  'salesforce.apiVersion',
  'salesforce.organizationId',
  'salesforce.auth',
  'salesforce.pathToken',
  'salesforce.unsafeAllowNoPathToken',
  'salesforce.allowedSourceNetworks',
  'salesforce.clientCertificate',
  'salesforce.timeouts',
  'salesforce.apiBudget',
  'fieldnation.environment',
  'fieldnation.auth',
  'fieldnation.webhookSecret',
  'fieldnation.acceptLegacyHash',
  'fieldnation.requestsPerSecond',
  'fieldnation.connectTimeoutMs',
  'fieldnation.timeoutMs',
] as const;

/** Top-level settings that take effect only when the apps restart. */
export const RESTART_TOP_SETTINGS = ['ingress'] as const;

const get = (value: unknown, dotted: string): unknown =>
  dotted.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), value);

/** JSON with sorted keys: two values are the same setting when their texts are equal. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  ) ?? 'undefined';

const connectionsById = (raw: unknown): Map<string, unknown> => {
  const list = raw && typeof raw === 'object' ? (raw as { connections?: unknown }).connections : undefined;
  return new Map(
    (Array.isArray(list) ? list : []).map((c, i) => [String((c as { id?: unknown } | null)?.id ?? `#${i}`), c] as [string, unknown]),
  );
};

/**
 * The settings that differ between two configurations (parsed, `${ENV}` unresolved) and apply only
 * after a restart, named like `connections[acme].salesforce.auth` or `connections (added: beta)`.
 * Empty: everything the new one changes applies live.
 */
export function settingsNeedingRestart(before: unknown, after: unknown): string[] {
  const changed: string[] = [];
  for (const key of RESTART_TOP_SETTINGS) if (canonical(get(before, key)) !== canonical(get(after, key))) changed.push(key);
  const a = connectionsById(before);
  const b = connectionsById(after);
  const added = [...b.keys()].filter((id) => !a.has(id));
  const removed = [...a.keys()].filter((id) => !b.has(id));
  if (added.length) changed.push(`connections (added: ${added.join(', ')})`);
  if (removed.length) changed.push(`connections (removed: ${removed.join(', ')})`);
  for (const [id, connection] of b) {
    if (!a.has(id)) continue;
    for (const setting of RESTART_CONNECTION_SETTINGS) {
      if (canonical(get(a.get(id), setting)) !== canonical(get(connection, setting))) changed.push(`connections[${id}].${setting}`);
    }
  }
  return changed;
}
