import { z } from 'zod';
import { baseEnvSchema } from './env';

/** Env every worker app reads on top of the base: its ops port, database and job concurrency. */
export const workerEnvSchema = baseEnvSchema.extend({
  BROKER_CONFIG: z.string().min(1),
  DATABASE_URL: z.string().url(),
  OPS_PORT: z.coerce.number().int().min(0).max(65535),
  OPS_HOST: z.string().default('0.0.0.0'),
  CONCURRENCY: z.coerce.number().int().positive().max(500).default(16),
});
