import { createHash, createHmac } from 'node:crypto';

/** v3: `sha256=` + hex HMAC-SHA256 of the exact body bytes, keyed by the webhook secret (reference §8.6). */
export function signV3(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Legacy `Fn-Hash`: hex md5 of the secret immediately followed by the body. */
export function signLegacy(secret: string, body: string | Buffer): string {
  return createHash('md5').update(secret).update(body).digest('hex');
}
