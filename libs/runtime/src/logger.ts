import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * Keys whose values are secrets wherever they appear in a log object (one or two levels deep,
 * plus headers). Values are replaced, never the key removed, so a log line still shows that the
 * field was there.
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
  'err.config.headers.Authorization',
];

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
    redact: { paths: redactPaths, censor: '[REDACTED]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}

/** Redact secret-looking substrings from free text (error messages quoting a URL with a token). */
export function redactText(text: string): string {
  return text
    .replace(/(access_token|client_secret|password|refresh_token|token)=([^&\s"']+)/gi, '$1=[REDACTED]')
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=!-]+/g, '$1[REDACTED]')
    .replace(/<(\w+:)?(password|sessionId)>[^<]*</gi, '<$1$2>[REDACTED]<');
}
