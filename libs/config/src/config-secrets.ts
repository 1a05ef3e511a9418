// Secrets stay in the environment (or a mounted secret file), never in the database: a configuration
// stored as a version names them as ${NAME} references, and these checks refuse one that does not.
import type { ConfigBundle } from './config-bundle';
import type { ConfigError, LoadedConfig } from './config-loader';

/**
 * The settings of a connection that hold a secret. A stored version must give each as one `${NAME}`
 * reference with no default (a default would be stored). A new secret setting belongs in this list.
 */
export const SECRET_SETTINGS = [
  'salesforce.auth.password',
  'salesforce.auth.securityToken',
  'salesforce.auth.clientSecret',
  'salesforce.auth.privateKey',
  'salesforce.pathToken',
  'fieldnation.auth.clientSecret',
  'fieldnation.auth.password',
  'fieldnation.webhookSecret',
] as const;

/** Resolved secrets shorter than this are not looked for in the stored text (they would match by chance). */
const MIN_SCANNED_SECRET_LENGTH = 8;

const ENV_REFERENCE = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/;

function at(value: unknown, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), value);
}

const connectionsOf = (raw: unknown): unknown[] => {
  const c = raw && typeof raw === 'object' ? (raw as { connections?: unknown }).connections : undefined;
  return Array.isArray(c) ? c : [];
};

/**
 * Every secret setting of a parsed (not interpolated) config that is not a bare `${NAME}` reference.
 * An empty security token is allowed: it means the org needs none.
 */
export function literalSecrets(raw: unknown): ConfigError['issues'] {
  const issues: ConfigError['issues'] = [];
  connectionsOf(raw).forEach((c, i) => {
    for (const setting of SECRET_SETTINGS) {
      const value = at(c, setting);
      if (value === undefined || value === null) continue;
      if (setting === 'salesforce.auth.securityToken' && value === '') continue;
      if (typeof value === 'string' && ENV_REFERENCE.test(value.trim())) continue;
      issues.push({
        path: `connections[${i}].${setting}`,
        message:
          typeof value === 'string' && value.includes('${')
            ? 'a secret is read from the environment as ${NAME} alone: a default (${NAME:-...}) or text around it would be stored in the database'
            : 'a secret stays in the environment: write ${NAME} here and set NAME in the environment (or a mounted secret) of every app; the database never stores it',
      });
    }
  });
  return issues;
}

/**
 * Resolved secrets of `config` that appear anywhere in the bundle's text (a password pasted into a
 * comment or a mapping): refused, since the bundle is what the database stores.
 */
export function secretsInText(bundle: ConfigBundle, config: LoadedConfig): ConfigError['issues'] {
  const issues: ConfigError['issues'] = [];
  const texts: [string, string][] = [['(main)', bundle.main], ...Object.entries(bundle.files)];
  config.connections.forEach((c, i) => {
    for (const setting of SECRET_SETTINGS) {
      const value = at(c, setting);
      if (typeof value !== 'string' || value.length < MIN_SCANNED_SECRET_LENGTH) continue;
      for (const [name, text] of texts) {
        if (text.includes(value)) {
          issues.push({
            path: `connections[${i}].${setting}`,
            message: `its value appears in ${name === '(main)' ? 'the configuration text' : name}: secrets stay in the environment, remove it`,
          });
        }
      }
    }
  });
  return issues;
}
