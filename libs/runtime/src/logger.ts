import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * Keys whose values are secrets. In a log object they are redacted up to three levels deep (the
 * wildcard paths below; each further level roughly doubles pino's redaction cost per line); in a
 * logged error (`err`) at any depth, since HTTP client errors carry their request config
 * (`err.config.headers.authorization`, `err.response.config...`). Values are replaced, never the
 * key removed, so a log line still shows that the field was there.
 */
export const REDACTED_KEYS = [
  'password',
  'passwd',
  'secret',
  'clientSecret',
  'client_secret',
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'securityToken',
  'sessionId',
  'SessionId',
  'privateKey',
  'private_key',
  'webhookSecret',
  'authorization',
  'Authorization',
  'cookie',
  'apiKey',
] as const;

const redactPaths = [
  ...REDACTED_KEYS,
  ...REDACTED_KEYS.map((k) => `*.${k}`),
  ...REDACTED_KEYS.map((k) => `*.*.${k}`),
  'req.headers.authorization',
  'req.headers.cookie',
  'headers["x-fn-signature"]',
];

const CENSOR = '[REDACTED]';
const secretKeys = new Set<string>([...REDACTED_KEYS.map((k) => k.toLowerCase()), 'x-fn-signature']);
/** Deep enough for a request config inside a response inside a cause; cycles end here too. */
const MAX_ERROR_DEPTH = 8;

/**
 * A copy of `value` with every secret-named key censored and secrets cut from strings; the logged
 * error itself is not touched (a retry may reuse its request config).
 */
function redactDeep(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  // Dates, Buffers, URLs: serialised by their own toJSON, as JSON.stringify would.
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_ERROR_DEPTH) return '[…]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = secretKeys.has(k.toLowerCase()) && v != null ? CENSOR : redactDeep(v, depth + 1, seen);
  }
  return out;
}

/**
 * pino's error serializer (type, message and stack with causes, own properties), then secrets
 * removed from all of it: messages and stacks often quote a URL or body with a token in it.
 */
function serializeError(err: unknown): unknown {
  return redactDeep(pino.stdSerializers.err(err as Error), 0, new WeakSet());
}

export interface LoggerSettings {
  service: string;
  level?: string;
  /** Write somewhere else than stdout (tests). */
  destination?: pino.DestinationStream;
}

/** The one logger factory: service identity in every line, secrets redacted. */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { service: settings.service, pid: process.pid },
    redact: { paths: redactPaths, censor: CENSOR },
    serializers: { err: serializeError },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}

/** Redact secret-looking substrings from free text (error messages quoting a URL, body or header with a token). */
export function redactText(text: string): string {
  return text
    .replace(/(access_token|client_secret|password|refresh_token|token)=([^&\s"']+)/gi, '$1=[REDACTED]')
    .replace(/("(?:access_token|client_secret|password|refresh_token|token)"\s*:\s*)"(?:[^"\\]|\\.)*"/gi, '$1"[REDACTED]"')
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=!-]+/g, '$1[REDACTED]')
    .replace(/<(\w+:)?(password|sessionId)>[^<]*</gi, '<$1$2>[REDACTED]<');
}
