// Where the apps read their configuration: a file (BROKER_CONFIG, the default: the setup pages are
// read-only) or the versions stored in PostgreSQL (BROKER_CONFIG_SOURCE=database: edited in the
// browser or imported with `broker config import`, applied by the workers without a restart).
import { ConfigError } from './config-loader';

export type ConfigSourceSetting = { mode: 'file'; file: string } | { mode: 'database' };

export interface ConfigSourceEnv {
  BROKER_CONFIG?: string;
  BROKER_CONFIG_SOURCE?: string;
}

/** The configured source; a ConfigError naming the variables to fix when it is ambiguous or missing. */
export function configSourceOf(env: ConfigSourceEnv): ConfigSourceSetting {
  const source = env.BROKER_CONFIG_SOURCE?.trim() || 'file';
  const file = env.BROKER_CONFIG?.trim() || undefined;
  if (source === 'database') {
    if (file) {
      throw new ConfigError('(environment)', [
        {
          path: 'BROKER_CONFIG',
          message:
            'BROKER_CONFIG_SOURCE=database reads the configuration from PostgreSQL: unset BROKER_CONFIG (move a file into the database with `broker config import <file>`)',
        },
      ]);
    }
    return { mode: 'database' };
  }
  if (source !== 'file') {
    throw new ConfigError('(environment)', [{ path: 'BROKER_CONFIG_SOURCE', message: `"${source}": file (the default) or database` }]);
  }
  if (!file) {
    throw new ConfigError('(environment)', [
      { path: 'BROKER_CONFIG', message: 'set BROKER_CONFIG to the connection config file, or BROKER_CONFIG_SOURCE=database' },
    ]);
  }
  return { mode: 'file', file };
}
