import { z } from 'zod';
import { isRedisUrl } from './redis';

export class EnvError extends Error {
  constructor(readonly issues: { key: string; message: string }[]) {
    super(`invalid environment:\n${issues.map((i) => `  ${i.key}: ${i.message}`).join('\n')}`);
    this.name = 'EnvError';
  }
}

/** Variables every app reads; apps extend this with their own. */
export const baseEnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /** `redis://…` / `rediss://…`, or Redis Cluster seed nodes: `redis-cluster://host:port[,redis-cluster://host:port…]`. */
  REDIS_URL: z
    .string()
    .refine(isRedisUrl, 'must be redis://, rediss://, or redis-cluster:// seed nodes separated by commas')
    .default('redis://127.0.0.1:6379'),
  /** Key prefix of every queue. On Redis Cluster it must hold a hash tag (`{broker}`) so a queue's keys share a slot. */
  QUEUE_PREFIX: z
    .string()
    .min(1)
    .regex(/^[^:]+$/, 'must not contain ":"')
    .default('broker'),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(25_000),
});

/** Parse env with a zod object schema; throws EnvError naming every bad key at once. */
export function parseEnv<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new EnvError(
    result.error.issues.map((issue) => ({
      key: issue.path.join('.') || '(root)',
      message: issue.message,
    })),
  );
}

/** parseEnv for main.ts: prints every bad key and exits non-zero. */
export function loadEnv<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  try {
    return parseEnv(schema, env);
  } catch (err) {
    if (err instanceof EnvError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}
