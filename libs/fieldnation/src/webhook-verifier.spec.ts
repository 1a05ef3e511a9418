import { describe, expect, it } from 'vitest';
import {
  checkWebhookTimestamp,
  parseDeliveryId,
  signWebhookBody,
  verifyLegacyHash,
  verifyWebhookSignature,
  WEBHOOK_MAX_AGE_MS,
  webhookBodyHash,
} from './webhook-verifier';

// Test vector of reference/fieldnation.md §8.6.
const SECRET = '01999f51-5c66-4449-b441-6b4a053fee6a';
const BODY =
  '{"event":{"name":"workorder.status.published","params":{"work_order_id":12345,"status_id":2,"previous_status_id":1}},"timestamp":"2026-01-20T08:55:58-06:00","triggered_by_user":{"id":1068},"workorder":{"id":12345,"title":"Work Order Title","status":{"id":2,"name":"Published"}}}';
const SIGNATURE = 'sha256=815b8ad38477f5645f17d8f9c1829a6845efdc188b5a044fa8ebce3f66c2213a';
const LEGACY = '906af9001129fdca381694aa59e7fa3c';

describe('verifyWebhookSignature', () => {
  const verify = (signatureHeader: unknown, rawBody: Buffer | string = Buffer.from(BODY), secret = SECRET) =>
    verifyWebhookSignature({ rawBody, signatureHeader: signatureHeader as string, secret });

  it('accepts the documented test vector', () => {
    expect(Buffer.byteLength(BODY)).toBe(278);
    expect(signWebhookBody(BODY, SECRET)).toBe(SIGNATURE);
    expect(verify(SIGNATURE)).toBe(true);
    expect(verify(SIGNATURE, BODY)).toBe(true);
    expect(verify(` ${SIGNATURE.toUpperCase().replace('SHA256=', 'sha256=')} `)).toBe(true);
    expect(verify([SIGNATURE])).toBe(true);
  });

  it('rejects a tampered body and a wrong secret', () => {
    expect(verify(SIGNATURE, Buffer.from(BODY.replace('12345', '12346')))).toBe(false);
    expect(verify(SIGNATURE, Buffer.from(`${BODY} `))).toBe(false);
    expect(verify(SIGNATURE, Buffer.from(BODY), 'another-secret')).toBe(false);
    expect(verify(SIGNATURE, Buffer.from(BODY), '')).toBe(false);
  });

  it('returns false, never throws, for missing or malformed headers', () => {
    for (const header of [
      undefined,
      null,
      '',
      'sha256=',
      'sha256',
      SIGNATURE.slice(7),
      'sha1=815b8ad38477f5645f17d8f9c1829a6845efdc188b5a044fa8ebce3f66c2213a',
      `${SIGNATURE}00`,
      SIGNATURE.slice(0, -2),
      'sha256=zz5b8ad38477f5645f17d8f9c1829a6845efdc188b5a044fa8ebce3f66c2213a',
      [],
      42,
      {},
    ]) {
      expect(verify(header)).toBe(false);
    }
    expect(verifyWebhookSignature({ rawBody: undefined as unknown as Buffer, signatureHeader: SIGNATURE, secret: SECRET })).toBe(false);
  });
});

describe('verifyLegacyHash', () => {
  it('checks md5(secret + body)', () => {
    expect(verifyLegacyHash({ rawBody: Buffer.from(BODY), hashHeader: LEGACY, secret: SECRET })).toBe(true);
    expect(verifyLegacyHash({ rawBody: Buffer.from(`${BODY}x`), hashHeader: LEGACY, secret: SECRET })).toBe(false);
    expect(verifyLegacyHash({ rawBody: Buffer.from(BODY), hashHeader: LEGACY, secret: 'nope' })).toBe(false);
    expect(verifyLegacyHash({ rawBody: Buffer.from(BODY), hashHeader: 'md5=abc', secret: SECRET })).toBe(false);
    expect(verifyLegacyHash({ rawBody: Buffer.from(BODY), hashHeader: undefined, secret: SECRET })).toBe(false);
  });
});

describe('parseDeliveryId', () => {
  it('splits uuid and attempt', () => {
    expect(parseDeliveryId('3F2504E0-4F89-11D3-9A0C-0305E82C3301:3')).toEqual({ uuid: '3f2504e0-4f89-11d3-9a0c-0305e82c3301', attempt: 3 });
    expect(parseDeliveryId('3f2504e0-4f89-11d3-9a0c-0305e82c3301')).toEqual({ uuid: '3f2504e0-4f89-11d3-9a0c-0305e82c3301', attempt: 1 });
  });

  it('returns null for malformed values', () => {
    for (const v of [
      undefined,
      null,
      '',
      ':1',
      'abc:1',
      '3f2504e0-4f89-11d3-9a0c-0305e82c3301:',
      '3f2504e0-4f89-11d3-9a0c-0305e82c3301:0',
      '3f2504e0-4f89-11d3-9a0c-0305e82c3301:x',
      'a b c d e f:1',
      'x'.repeat(200),
    ]) {
      expect(parseDeliveryId(v)).toBeNull();
    }
  });
});

describe('checkWebhookTimestamp', () => {
  const now = Date.parse('2026-01-20T15:00:00Z');
  it('accepts the documented format and epoch milliseconds within the horizon', () => {
    expect(checkWebhookTimestamp('2026-01-20T08:55:58-06:00', now)).toEqual({ ok: true, at: new Date('2026-01-20T14:55:58Z') });
    expect(checkWebhookTimestamp(now - 60_000, now)).toMatchObject({ ok: true });
    expect(checkWebhookTimestamp(String(now - 7 * 86_400_000), now)).toMatchObject({ ok: true });
  });

  it.each([
    [undefined, 'missing'],
    ['', 'missing'],
    ['+275760-09-13T00:00:00.000Z', 'invalid'],
    ['2026-13-45T99:99:99Z', 'invalid'],
    ['yesterday', 'invalid'],
    [{ at: 1 }, 'invalid'],
    [Number.POSITIVE_INFINITY, 'invalid'],
    [8.64e15 + 1, 'future'],
    [-8.64e15, 'stale'],
    ['2026-01-11T14:59:59Z', 'stale'],
    ['2026-01-20T15:16:00Z', 'future'],
  ])('refuses %s as %s, without throwing', (value, reason) => {
    expect(checkWebhookTimestamp(value, now)).toMatchObject({ ok: false, reason });
  });

  it('refuses what is older than the 7-day replay horizon plus a day', () => {
    expect(WEBHOOK_MAX_AGE_MS).toBe(8 * 86_400_000);
    expect(checkWebhookTimestamp(now - WEBHOOK_MAX_AGE_MS + 1000, now)).toMatchObject({ ok: true });
    expect(checkWebhookTimestamp(now - WEBHOOK_MAX_AGE_MS - 1000, now)).toMatchObject({ ok: false, reason: 'stale' });
  });
});

describe('webhookBodyHash', () => {
  it('is the SHA-256 of the exact bytes: the same for a redelivery, different for one changed byte', () => {
    expect(webhookBodyHash(BODY)).toBe(webhookBodyHash(Buffer.from(BODY)));
    expect(webhookBodyHash(BODY)).toMatch(/^[0-9a-f]{64}$/);
    expect(webhookBodyHash(BODY.replace('12345', '12346'))).not.toBe(webhookBodyHash(BODY));
  });
});
