import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { brokerConfigSchema, type BrokerConfig } from './config.schema';

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly issues: { path: string; message: string }[],
  ) {
    super(`invalid config ${file}:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadedConfig extends BrokerConfig {
  /** Absolute path of the file, and its directory (mapping paths are relative to it). */
  file: string;
  dir: string;
  /** A stored version's files (mappings, event rules) by relative path: read these, not the disk (readConfigFile). */
  files?: Readonly<Record<string, string>>;
}

const formatPath = (p: readonly PropertyKey[]): string =>
  p.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), '') || '(root)';

/** Replace `${NAME}` and `${NAME:-default}` in every string; a missing variable is an error at its path. */
function interpolate(value: unknown, env: NodeJS.ProcessEnv, at: (string | number)[], issues: ConfigError['issues']): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, fallback?: string) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      issues.push({ path: formatPath(at), message: `environment variable ${name} is not set` });
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, [...at, i], issues));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env, [...at, k], issues)]));
  }
  return value;
}

/** Parse and validate config text. `file` is used in messages and to resolve relative paths. */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({ path: `line ${e.linePos?.[0]?.line ?? '?'}`, message: e.message.split('\n')[0]! })),
    );
  }
  const issues: ConfigError['issues'] = [];
  const raw = interpolate(doc.toJS(), env, [], issues);
  if (issues.length) throw new ConfigError(file, issues);
  const result = brokerConfigSchema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(
      file,
      result.error.issues.flatMap((i) =>
        // Name the misspelt key itself, not the object holding it: that is the line to fix.
        i.code === 'unrecognized_keys'
          ? i.keys.map((k) => ({ path: formatPath([...i.path, k]), message: 'unknown key' }))
          : [{ path: formatPath(i.path), message: i.message }],
      ),
    );
  }
  const abs = path.resolve(file);
  return { ...result.data, file: abs, dir: path.dirname(abs) };
}

/** Load the config file named by BROKER_CONFIG (or the given path). */
export function loadConfig(file = process.env.BROKER_CONFIG, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  if (!file) throw new ConfigError('(none)', [{ path: 'BROKER_CONFIG', message: 'set BROKER_CONFIG to the connection config file' }]);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '(file)', message: (err as Error).message }]);
  }
  return parseConfig(text, file, env);
}

export function resolveConfigPath(config: LoadedConfig, relative: string): string {
  return path.resolve(config.dir, relative);
}

/** Salesforce login URL (SOAP login and OAuth token endpoint host) for an instance setting. */
export function salesforceLoginUrl(instance: string): string {
  if (instance === 'production') return 'https://login.salesforce.com';
  if (instance === 'test') return 'https://test.salesforce.com';
  return instance.replace(/\/$/, '');
}

/**
 * The JWT bearer assertion's `aud` for an instance setting. Salesforce wants the login host (production:
 * login.salesforce.com, sandbox: test.salesforce.com) even when the token is requested from the org's My
 * Domain, and the site URL for an Experience Cloud site (help: "OAuth 2.0 JWT Bearer Flow for
 * Server-to-Server Integration"). An explicit `auth.audience` wins.
 */
export function salesforceJwtAudience(instance: string, explicit?: string): string {
  if (explicit) return explicit.replace(/\/$/, '');
  if (instance === 'production') return 'https://login.salesforce.com';
  if (instance === 'test') return 'https://test.salesforce.com';
  const url = new URL(instance);
  const host = url.hostname.toLowerCase();
  if (host.endsWith('.sandbox.my.salesforce.com') || host === 'test.salesforce.com') return 'https://test.salesforce.com';
  // Experience Cloud sites: <name>.my.site.com, or the older <name>.force.com with an optional path prefix.
  if (host.endsWith('.my.site.com') || (host.endsWith('.force.com') && !host.endsWith('.lightning.force.com')))
    return instance.replace(/\/$/, '');
  return 'https://login.salesforce.com';
}
