import { configSourceOf } from '@broker/config';
import { loadActiveConfig } from '@broker/config-store';
import { runPreflight } from '@broker/preflight';
import type { Logger } from '@broker/runtime';
import type { PrismaClient } from '@broker/store';
import type { DashboardDeps } from './dashboard-app';

/**
 * "Test connection" over the configuration in force when it is used: a version saved on the setup
 * pages (or a file edited) since the dashboard started is the one tested, and a configuration that
 * does not load shows its error where the buttons would be instead of disabling them until a restart.
 * Reading it costs one small query (or file read) per home page or test (loaded once for both the
 * connection check and the preflight), which operators click.
 */
export function activePreflight(options: {
  /** BROKER_CONFIG / BROKER_CONFIG_SOURCE and the variables the configuration interpolates. */
  env: NodeJS.ProcessEnv;
  /** Where a `database` configuration is read (the dashboard's own client). */
  prisma?: PrismaClient;
  publicUrl?: string;
  logger: Logger;
}): NonNullable<DashboardDeps['preflight']> {
  return async () => {
    const { config } = await loadActiveConfig(configSourceOf(options.env), { prisma: options.prisma, env: options.env });
    return {
      connectionIds: config.connections.map((c) => c.id),
      run: (connectionId: string) =>
        runPreflight(config, connectionId, {
          publicUrl: options.publicUrl,
          logger: options.logger.child({ connectionId, preflight: true }),
        }),
    };
  };
}
