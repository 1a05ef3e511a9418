import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

type HeaderValue = string | string[] | undefined | null;

const single = (value: HeaderValue): string | undefined => (Array.isArray(value) ? value[0] : (value ?? undefined));

function equalHex(expectedHex: string, givenHex: string): boolean {
  const expected = Buffer.from(expectedHex, 'hex');
  const given = Buffer.from(givenHex, 'hex');
  return expected.length === given.length && expected.length > 0 && timingSafeEqual(expected, given);
}

/**
 * Whether the header (trimmed, `format`'s group 1 the hex digest) carries the digest `expectedHex`
 * computes, compared in constant time. False, never an exception, for a missing secret or a missing,
 * malformed or wrong header.
 */
function headerMatches(value: HeaderValue, secret: string, format: RegExp, expectedHex: () => string): boolean {
  try {
    const given = format.exec(single(value)?.trim() ?? '')?.[1];
    if (!given || !secret) return false;
    return equalHex(expectedHex(), given.toLowerCase());
  } catch {
    return false;
  }
}

export interface VerifySignatureInput {
  /** The exact request body bytes, before any JSON parsing. */
  rawBody: Buffer | string;
  /** `X-FN-Signature` header value: `sha256=<64 hex>`. */
  signatureHeader: HeaderValue;
  secret: string;
}

/**
 * Webhooks v3: `X-FN-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`. Constant-time compare;
 * false (never an exception) for a missing, malformed or wrong signature.
 */
export function verifyWebhookSignature(input: VerifySignatureInput): boolean {
  return headerMatches(input.signatureHeader, input.secret, /^sha256=([0-9a-fA-F]{64})$/, () =>
    createHmac('sha256', input.secret).update(input.rawBody).digest('hex'),
  );
}

export interface VerifyLegacyHashInput {
  rawBody: Buffer | string;
  /** Legacy `Fn-Hash` header: hex md5 of the secret followed by the raw body. */
  hashHeader: HeaderValue;
  secret: string;
}

/** Legacy webhooks: `Fn-Hash: <hex md5(secret + raw body)>`. Same guarantees as {@link verifyWebhookSignature}. */
export function verifyLegacyHash(input: VerifyLegacyHashInput): boolean {
  return headerMatches(input.hashHeader, input.secret, /^([0-9a-fA-F]{32})$/, () =>
    createHash('md5').update(input.secret).update(input.rawBody).digest('hex'),
  );
}

/** Compute the v3 signature header value (setup scripts, tests). */
export function signWebhookBody(rawBody: Buffer | string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

export interface DeliveryId {
  /** Stable across redeliveries of the same event: the idempotency key. */
  uuid: string;
  /** 1 for the first attempt, incremented on every retry. */
  attempt: number;
}

/**
 * `X-FN-Delivery-Id: <uuid>:<attempt>` → `{uuid, attempt}`; null when missing or malformed. A bare
 * id without `:attempt` is read as attempt 1.
 */
export function parseDeliveryId(header: HeaderValue): DeliveryId | null {
  const value = single(header)?.trim();
  if (!value) return null;
  const match = /^([A-Za-z0-9_-]{8,128})(?::(\d{1,6}))?$/.exec(value);
  if (!match) return null;
  const attempt = match[2] === undefined ? 1 : Number(match[2]);
  if (attempt < 1) return null;
  return { uuid: match[1]!.toLowerCase(), attempt };
}

/**
 * How late a genuine delivery can arrive. Automatic retries end 21 min 10 s after the first attempt
 * (docs/webhooks/v3/concepts/delivery: 10 s doubling to 640 s, 8 attempts), but a failed delivery
 * can be retried by hand from the delivery log, and Field Nation advises keeping idempotency keys
 * "for at least 7 days to handle late retries and manual replays" (guides/handling-events). The
 * horizon is those 7 days.
 */
export const WEBHOOK_REPLAY_HORIZON_MS = 7 * 24 * 3_600_000;
/** Oldest signed timestamp accepted: the horizon plus a day of margin (clock skew, a slow manual replay). */
export const WEBHOOK_MAX_AGE_MS = WEBHOOK_REPLAY_HORIZON_MS + 24 * 3_600_000;
/** Clocks disagree a little; a timestamp further ahead than this is not a real delivery. */
export const WEBHOOK_MAX_FUTURE_MS = 15 * 60_000;

export type WebhookTimestamp = { ok: true; at: Date } | { ok: false; reason: 'missing' | 'invalid' | 'stale' | 'future'; message: string };

/**
 * The payload's own `timestamp` (inside the signed bytes, unlike the X-FN-Request-Timestamp header):
 * ISO 8601 as Field Nation sends it, or epoch milliseconds. A captured body replayed after the
 * horizon is refused here, whatever delivery id it is sent under.
 */
export function checkWebhookTimestamp(value: unknown, now = Date.now(), maxAgeMs = WEBHOOK_MAX_AGE_MS): WebhookTimestamp {
  if (value === undefined || value === null || value === '')
    return { ok: false, reason: 'missing', message: 'the payload has no timestamp' };
  let ms = Number.NaN;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string' && value.length <= 40) {
    ms = /^\d{1,16}$/.test(value) ? Number(value) : /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : Number.NaN;
  }
  if (!Number.isFinite(ms)) return { ok: false, reason: 'invalid', message: 'timestamp is not an ISO 8601 time or epoch milliseconds' };
  if (ms < now - maxAgeMs)
    return {
      ok: false,
      reason: 'stale',
      message: `timestamp is older than ${Math.round(maxAgeMs / 3_600_000)} hours: not a delivery Field Nation would still send`,
    };
  if (ms > now + WEBHOOK_MAX_FUTURE_MS) return { ok: false, reason: 'future', message: 'timestamp is in the future' };
  return { ok: true, at: new Date(ms) };
}

/**
 * The identity of a delivery: the hash of its signed bytes. Field Nation resends the same bytes on
 * every attempt; a replay under a new X-FN-Delivery-Id (unsigned) or none has the same hash.
 */
export function webhookBodyHash(rawBody: Buffer | string): string {
  return createHash('sha256').update(rawBody).digest('hex');
}
