// Database mode: the ingress keeps every security setting it started with (a restart applies those),
// but which objects a connection accepts Outbound Messages for follows the stored versions, so an
// object added from the setup pages is accepted without a restart, as the workers process it.
import type { Logger } from 'pino';
import type { Redis } from 'ioredis';
import type { ConnectionConfig } from '@broker/config';
import { activeConfigOf, watchConfigVersions, type ConfigWatch } from '@broker/config-store';
import type { PrismaClient } from '@broker/store';

export function followObjectSettings(options: {
  connections: readonly ConnectionConfig[];
  version: number | null;
  prisma: PrismaClient;
  redis: Redis;
  prefix: string;
  intervalMs: number;
  logger: Logger;
}): ConfigWatch {
  let current = options.version;
  return watchConfigVersions({
    prisma: options.prisma,
    // The ingress's connection fails fast (no offline queue); the subscription must wait for Redis instead.
    // lazyConnect: this template never connects, only its duplicate does.
    redis: options.redis.duplicate({ enableOfflineQueue: true, enableAutoPipelining: false, lazyConnect: true }),
    prefix: options.prefix,
    intervalMs: options.intervalMs,
    logger: options.logger,
    current: () => current,
    apply: (version) => {
      let next;
      try {
        next = activeConfigOf(version).config;
      } catch (err) {
        options.logger.error({ version: version.version, err: { message: (err as Error).message } }, 'configuration version REFUSED');
        throw err;
      }
      for (const connection of options.connections) {
        const objects = next.connections.find((c) => c.id === connection.id)?.objects;
        // The handler reads connection.objects per request: swapping the map is the whole change.
        if (objects) (connection as { objects: ConnectionConfig['objects'] }).objects = objects;
      }
      current = version.version;
      options.logger.info({ configVersion: version.version }, 'configuration version applied: objects accepted per connection');
    },
  });
}
