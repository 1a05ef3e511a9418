import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

type HeaderValue = string | string[] | undefined | null;

const single = (value: HeaderValue): string | undefined => (Array.isArray(value) ? value[0] : (value ?? undefined));

function equalHex(expectedHex: string, givenHex: string): boolean {
  const expected = Buffer.from(expectedHex, 'hex');
  const given = Buffer.from(givenHex, 'hex');
  return expected.length === given.length && expected.length > 0 && timingSafeEqual(expected, given);
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
  try {
    const header = single(input.signatureHeader)?.trim();
    if (!header || !input.secret) return false;
    const match = /^sha256=([0-9a-fA-F]{64})$/.exec(header);
    if (!match) return false;
    const expected = createHmac('sha256', input.secret).update(input.rawBody).digest('hex');
    return equalHex(expected, match[1]!.toLowerCase());
  } catch {
    return false;
  }
}

export interface VerifyLegacyHashInput {
  rawBody: Buffer | string;
  /** Legacy `Fn-Hash` header: hex md5 of the secret followed by the raw body. */
  hashHeader: HeaderValue;
  secret: string;
}

/** Legacy webhooks: `Fn-Hash: <hex md5(secret + raw body)>`. Same guarantees as {@link verifyWebhookSignature}. */
export function verifyLegacyHash(input: VerifyLegacyHashInput): boolean {
  try {
    const header = single(input.hashHeader)?.trim();
    if (!header || !input.secret || !/^[0-9a-fA-F]{32}$/.test(header)) return false;
    const expected = createHash('md5').update(input.secret).update(input.rawBody).digest('hex');
    return equalHex(expected, header.toLowerCase());
  } catch {
    return false;
  }
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
