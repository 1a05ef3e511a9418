// The configuration an app starts with, from the source its environment names (configSourceOf).
import { readFileSync } from 'node:fs';
import {
  ConfigError,
  fileConfigLabel,
  loadConfig,
  parseConfigBundle,
  parseRawConfig,
  type ConfigBundle,
  type ConfigSourceSetting,
  type LoadedConfig,
} from '@broker/config';
import { createPrisma, type PrismaClient } from '@broker/store';
import { createConfigStore } from './config-store';

export interface ActiveConfig {
  config: LoadedConfig;
  /** What timeline rows record: the version number ("7"), or "file:<hash>" in file mode. */
  label: string;
  /** The stored version (database mode); null for a file. */
  version: number | null;
  /** The parsed, uninterpolated YAML (settingsNeedingRestart compares these). */
  raw: unknown;
}

/** The name a stored version goes by in messages and mapping errors. */
export const versionName = (version: number): string => `config-version-${version}`;

/** Load a stored version as the apps do: `${ENV}` resolved from `env`, files from the version. */
export function activeConfigOf(version: { version: number; bundle: ConfigBundle }, env: NodeJS.ProcessEnv = process.env): ActiveConfig {
  return {
    config: parseConfigBundle(version.bundle, versionName(version.version), env),
    label: String(version.version),
    version: version.version,
    raw: parseRawConfig(version.bundle.main),
  };
}

/**
 * The configuration in force: the file, or the highest stored version. A ConfigError (exit 78 in the
 * apps) when it is invalid, or when the database holds no version yet.
 */
export async function loadActiveConfig(
  setting: ConfigSourceSetting,
  options: { prisma?: PrismaClient; databaseUrl?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<ActiveConfig> {
  const env = options.env ?? process.env;
  if (setting.mode === 'file') {
    const config = loadConfig(setting.file, env);
    return { config, label: fileConfigLabel(setting.file), version: null, raw: parseRawConfig(readFileSync(setting.file, 'utf8')) };
  }
  if (!options.prisma && !options.databaseUrl) {
    throw new ConfigError('(environment)', [
      { path: 'DATABASE_URL', message: 'BROKER_CONFIG_SOURCE=database reads the configuration from it: set it' },
    ]);
  }
  const prisma = options.prisma ?? createPrisma(options.databaseUrl!, { max: 1 });
  try {
    const current = await createConfigStore(prisma).current();
    if (!current) {
      throw new ConfigError('(database)', [
        { path: 'config_version', message: 'no configuration is stored yet: import one with `broker config import <file>`' },
      ]);
    }
    return activeConfigOf(current, env);
  } finally {
    if (!options.prisma) await prisma.$disconnect();
  }
}
