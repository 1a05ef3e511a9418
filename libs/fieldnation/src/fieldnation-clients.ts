import type { ConnectionConfig } from '@broker/config';
import type { Logger, PipelineMetrics } from '@broker/runtime';
import { FieldNationClient } from './fieldnation-client';

/**
 * One Field Nation client per configured connection, as the worker apps use them: the
 * connection's environment, credentials, rate limit and timeouts, calls counted in the metrics.
 */
export function createFieldNationClients(
  connections: readonly Pick<ConnectionConfig, 'id' | 'fieldnation'>[],
  logger: Logger,
  metrics?: Pick<PipelineMetrics, 'fnCalls' | 'fnRateLimited'>,
): Map<string, FieldNationClient> {
  return new Map(
    connections.map((c) => [
      c.id,
      new FieldNationClient({
        environment: c.fieldnation.environment,
        credentials: c.fieldnation.auth,
        rateLimit: { requestsPerSecond: c.fieldnation.requestsPerSecond },
        connectTimeoutMs: c.fieldnation.connectTimeoutMs,
        timeoutMs: c.fieldnation.timeoutMs,
        // Short in-call retries; longer waits (Retry-After, 5xx storms) become BullMQ delays and
        // retries, so a record lock is never held for minutes.
        retry: { maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 2_000, maxRetryAfterMs: 5_000 },
        logger: logger.child({ connectionId: c.id }),
        onRequest: (e) => {
          metrics?.fnCalls.inc({ connection: c.id, route: e.route, status: e.status ? `${Math.floor(e.status / 100)}xx` : 'none' });
          if (e.status === 429) metrics?.fnRateLimited.inc({ connection: c.id });
        },
      }),
    ]),
  );
}
