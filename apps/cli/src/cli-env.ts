import { z } from 'zod';
import { configSourceOf, loadConfig, type LoadedConfig } from '@broker/config';
import { loadActiveConfig } from '@broker/config-store';
import { baseEnvSchema } from '@broker/runtime';
import { CliError } from './cli-io';

const schema = z.object({
  BROKER_CONFIG: z.string().min(1).optional(),
  /** `database`: commands that read the configuration read the version in force in PostgreSQL. */
  BROKER_CONFIG_SOURCE: z.enum(['file', 'database']).optional(),
  DATABASE_URL: z.string().url().optional(),
  REDIS_URL: baseEnvSchema.shape.REDIS_URL,
  QUEUE_PREFIX: z
    .string()
    .min(1)
    .regex(/^[^:]+$/, 'must not contain ":"')
    .default('broker'),
  /** Public URL of the ingress, the default for `salesforce metadata --endpoint`. */
  PUBLIC_URL: z.string().url().optional(),
});

export type CliEnv = z.infer<typeof schema>;

export function parseCliEnv(env: NodeJS.ProcessEnv = process.env): CliEnv {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new CliError(`invalid environment:\n${result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`, 78);
}

export function requireDatabaseUrl(env: CliEnv): string {
  if (!env.DATABASE_URL) throw new CliError('set DATABASE_URL to the broker database (postgresql://…)', 78);
  return env.DATABASE_URL;
}

export function requireConfigPath(env: CliEnv, given?: string): string {
  const file = given ?? env.BROKER_CONFIG;
  if (!file) throw new CliError('name the config file, or set BROKER_CONFIG', 78);
  return file;
}

/**
 * The configuration the apps run with: the file named on the command line, else BROKER_CONFIG, else
 * (BROKER_CONFIG_SOURCE=database) the version in force in PostgreSQL.
 */
export async function loadCliConfig(env: CliEnv, given?: string): Promise<LoadedConfig> {
  if (given) return loadConfig(given);
  const source = configSourceOf(env);
  if (source.mode === 'file') return loadConfig(source.file);
  return (await loadActiveConfig(source, { databaseUrl: requireDatabaseUrl(env) })).config;
}
