import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * Keys whose values are secrets, at any depth of a logged object, error or child binding. Matched
 * ignoring case, `-` and `_` (`access_token`, `accessToken` and `Access-Token` are one key), and
 * as a suffix (`dbPassword`, `webhookSecret`, `nextPageToken`). Values are replaced, never the key
 * removed, so a log line still shows that the field was there.
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
  'sid',
  'privateKey',
  'private_key',
  'passphrase',
  'webhookSecret',
  'authorization',
  'Authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'apiKey',
  'assertion',
  'client_assertion',
  'x-fn-signature',
] as const;

const CENSOR = '[REDACTED]';
const normalise = (key: string) => key.toLowerCase().replace(/[-_]/g, '');
const secretKeys = new Set<string>(REDACTED_KEYS.map(normalise));
const SECRET_SUFFIX = /(password|passwd|secret|token|apikey|sessionid|privatekey|assertion|cookie|authorization|signature)$/;
const keyCache = new Map<string, boolean>();

/** Whether a key names a secret (cached: log objects reuse a small set of keys). */
export function isSecretKey(key: string): boolean {
  let hit = keyCache.get(key);
  if (hit === undefined) {
    const n = normalise(key);
    hit = secretKeys.has(n) || SECRET_SUFFIX.test(n);
    if (keyCache.size < 10_000) keyCache.set(key, hit);
  }
  return hit;
}

/** Objects and errors deeper than this are cut (`[…]`); also where a cycle would end. */
const MAX_DEPTH = 12;

/**
 * Secrets by their look, wherever they sit in a string (messages, URLs, stacks, bodies quoted in
 * an error). One pass, alternatives tried left to right at each position. Every quantifier runs
 * over a character class that cannot also match what follows it, so matching stays linear.
 *  1. Salesforce session id: `00D` + org id, `!`, the token (the org id is kept, it is no secret).
 *  2. `Bearer …` / `OAuth …` (Salesforce's header scheme) credentials.
 *  3. `name=value` in URLs, query strings, form bodies and cookies for secret parameter names.
 *  4. `"name": "value"` in JSON and `name: 'value'` in util.inspect output.
 *  5. JWTs (three base64url segments, the first a JSON header: `eyJ`).
 *  6. `<password>…<` and `<sessionId>…<` in SOAP/XML.
 */
const PARAM_NAMES =
  'access_token|refresh_token|id_token|client_secret|client_assertion|assertion|password|passwd|code|token|sid|session_?id|api_?key|secret|signature';
const FIELD_NAMES =
  'password|passwd|secret|client_?secret|clientSecret|token|access_?token|accessToken|refresh_?token|refreshToken|session_?id|sessionId|sid|assertion|api_?key|apiKey|private_?key|privateKey|authorization|cookie';
const SECRET_TEXT = new RegExp(
  [
    String.raw`\b(00D[A-Za-z0-9]{12,15})![A-Za-z0-9._-]{8,}`,
    String.raw`\b(Bearer|OAuth)\s+[A-Za-z0-9._~+/=!-]{6,}`,
    String.raw`(?<![\w.-])(${PARAM_NAMES})=[^&\s"'<>;,]+`,
    String.raw`(?<![\w$])(["']?)(${FIELD_NAMES})\4\s*:\s*(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')`,
    String.raw`\beyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*`,
    String.raw`<((?:\w+:)?(?:password|sessionId))>[^<]*<`,
  ].join('|'),
  'gi',
);
/** Cheap pre-check: a string without any of these cannot hold a pattern above (most log strings). */
const MAYBE_SECRET = /[=!'"<]|bearer|oauth|eyj/i;

function replaceSecret(
  match: string,
  sfOrg?: string,
  scheme?: string,
  param?: string,
  quote?: string,
  field?: string,
  xmlTag?: string,
): string {
  if (sfOrg) return `${sfOrg}!${CENSOR}`;
  if (scheme) return `${scheme} ${CENSOR}`;
  if (param) return `${param}=${CENSOR}`;
  if (field) return `${quote}${field}${quote}: "${CENSOR}"`;
  if (xmlTag) return `<${xmlTag}>${CENSOR}<`;
  return CENSOR;
}

/** Redact secret-looking substrings from free text (messages, URLs, bodies and stacks). */
export function redactText(text: string): string {
  if (!MAYBE_SECRET.test(text)) return text;
  return text.replace(SECRET_TEXT, replaceSecret as (substring: string, ...args: unknown[]) => string);
}

/** An error as pino's serializer shapes it (type, message, stack with causes, own properties), redacted. */
function serializeErrorDeep(err: Error, depth: number, seen: WeakSet<object>): unknown {
  return redactDeep(pino.stdSerializers.err(err), depth, seen);
}

/**
 * A copy of `value` with every secret-named key censored and secrets cut from every string; the
 * logged objects themselves are not touched (a retry may reuse a request config).
 */
function redactDeep(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[…]';
  if (value instanceof Error) return serializeErrorDeep(value, depth, seen);
  // Dates, Buffers: serialised by their own toJSON. A URL's toJSON is its text, which may carry a token.
  if (value instanceof URL) return redactText(value.href);
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1, seen));
  if (value instanceof Map) return redactDeep(Object.fromEntries(value), depth, seen);
  const out: Record<string, unknown> = {};
  for (const k in value) {
    if (!Object.prototype.hasOwnProperty.call(value, k)) continue;
    const v = (value as Record<string, unknown>)[k];
    out[k] = v != null && isSecretKey(k) ? CENSOR : redactDeep(v, depth + 1, seen);
  }
  return out;
}

/** The one redaction entry point for anything logged (objects, errors, strings). */
export function redactForLog(value: unknown): unknown {
  return redactDeep(value, 0, new WeakSet());
}

/**
 * The `err` serializer: an Error is serialized (causes and stacks included) then redacted; a plain
 * object someone passed as `err` (`{ message }`) is redacted as it is.
 */
function serializeError(err: unknown): unknown {
  return redactForLog(err);
}

export interface LoggerSettings {
  service: string;
  level?: string;
  /** Write somewhere else than stdout (tests). */
  destination?: pino.DestinationStream;
}

/**
 * Redact every argument of a log call before pino sees it: the merging object (at any depth),
 * the message and its format arguments. An Error logged alone keeps pino's shape (`err`, and its
 * message as `msg`), redacted.
 */
function redactArguments(this: Logger, args: unknown[], method: (...args: unknown[]) => void): void {
  const first = args[0];
  if (first instanceof Error) {
    const rest = args.length > 1 ? args.slice(1).map(redactForLog) : [redactText(first.message)];
    return method.apply(this, [{ err: first }, ...rest]);
  }
  if (first !== null && typeof first === 'object') {
    // `err` (any Error-like at the top) is left to the err serializer, which redacts it: no double walk.
    const copy: Record<string, unknown> = {};
    const seen = new WeakSet<object>([first]);
    for (const k in first) {
      if (!Object.prototype.hasOwnProperty.call(first, k)) continue;
      const v = (first as Record<string, unknown>)[k];
      copy[k] = v != null && isSecretKey(k) ? CENSOR : k === 'err' ? v : redactDeep(v, 1, seen);
    }
    args[0] = copy;
    for (let i = 1; i < args.length; i++) args[i] = redactForLog(args[i]);
    return method.apply(this, args);
  }
  for (let i = 0; i < args.length; i++) args[i] = redactForLog(args[i]);
  return method.apply(this, args);
}

/** The one logger factory: service identity in every line, secrets redacted by key and by value. */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { service: settings.service, pid: process.pid },
    serializers: { err: serializeError },
    hooks: { logMethod: redactArguments as NonNullable<LoggerOptions['hooks']>['logMethod'] },
    formatters: { level: (label) => ({ level: label }) },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  const logger = settings.destination ? pino(options, settings.destination) : pino(options);
  // Child bindings (`log.child({ url })`) are redacted once per child, not per line. Children are
  // created from their parent's prototype, so every descendant inherits this method.
  const child = logger.child;
  logger.child = function (this: Logger, bindings, childOptions) {
    return child.call(this, redactForLog(bindings) as typeof bindings, childOptions);
  } as typeof logger.child;
  return logger;
}
