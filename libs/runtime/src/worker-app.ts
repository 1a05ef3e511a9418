import { z } from 'zod';
import { baseEnvSchema } from './env';

/** Env every worker app reads on top of the base: its ops port, database, job concurrency and config source. */
export const workerEnvSchema = baseEnvSchema.extend({
  /** The config file (file mode); with BROKER_CONFIG_SOURCE=database it must be unset (configSourceOf). */
  BROKER_CONFIG: z.string().min(1).optional(),
  /** `file` (default: BROKER_CONFIG) or `database` (the versions in PostgreSQL, applied without a restart). */
  BROKER_CONFIG_SOURCE: z.enum(['file', 'database']).default('file'),
  /** Database mode: how often a worker looks for a new version besides the Redis notification. */
  BROKER_CONFIG_CHECK_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
  DATABASE_URL: z.string().url(),
  OPS_PORT: z.coerce.number().int().min(0).max(65535),
  OPS_HOST: z.string().default('0.0.0.0'),
  CONCURRENCY: z.coerce.number().int().positive().max(500).default(16),
});
