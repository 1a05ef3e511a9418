import { describe, expect, it } from 'vitest';
import { FetchRecordJob, PayloadError, sfFetchQueue } from '@broker/contracts';
import { makeId } from '@broker/salesforce';
import { checkFetchPayloads, PER_NOTIFICATION_FIELDS } from '../src/outbound-message.handler';

const receivedAt = new Date('2026-12-05T01:02:03.456Z').toISOString();
const payloads = (count: number) =>
  Array.from({ length: count }, (_, i) => ({
    connectionId: 'demo',
    sfObject: 'Case',
    sfId: makeId('500', i + 1),
    notificationId: makeId('04l', i + 1),
    source: 'outbound-message' as const,
    receivedAt,
    snapshot: { Id: makeId('500', i + 1), Status: 'New' } as Record<string, string | null>,
  }));

/** The message of checkFetchPayloads' refusal, or undefined when it accepts. */
function refusal(ps: ReturnType<typeof payloads>): string | undefined {
  try {
    checkFetchPayloads(sfFetchQueue, ps);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(PayloadError);
    return (err as Error).message;
  }
}

describe('checkFetchPayloads (the contract checked once per message for what its notifications share)', () => {
  it('accepts a valid message, and an empty one', () => {
    expect(refusal(payloads(100))).toBeUndefined();
    expect(refusal([])).toBeUndefined();
  });

  it('splits the contract: every field is either the message’s own or checked per notification', () => {
    // A new contract field must be placed: shared fields are checked on the first payload only.
    const shared = ['connectionId', 'source', 'receivedAt'];
    expect([...shared, ...PER_NOTIFICATION_FIELDS].sort()).toEqual(Object.keys(FetchRecordJob.shape).sort());
  });

  it.each([
    ['an sfId', (p: ReturnType<typeof payloads>[number]) => (p.sfId = 'short'), /sfId: 18-character Salesforce id/],
    ['a notificationId', (p: ReturnType<typeof payloads>[number]) => (p.notificationId = ''), /notificationId/],
    ['an sfObject', (p: ReturnType<typeof payloads>[number]) => (p.sfObject = '1Case'), /sfObject: Salesforce object API name/],
    [
      'a snapshot value',
      (p: ReturnType<typeof payloads>[number]) => (p.snapshot.Status = 7 as unknown as string),
      /invalid sf\.fetch\/fetch-record payload: snapshot\.Status/,
    ],
  ])('refuses %s that is bad in the first, a middle or the last notification', (_what, spoil, message) => {
    for (const at of [0, 57, 99]) {
      const ps = payloads(100);
      spoil(ps[at]!);
      expect(refusal(ps), `notification ${at}`).toMatch(message);
    }
  });

  it('checks a payload whole when its message-wide fields are not the first one’s', () => {
    for (const spoil of [
      (p: ReturnType<typeof payloads>[number]) => (p.connectionId = 'not valid!'),
      (p: ReturnType<typeof payloads>[number]) => (p.receivedAt = 'yesterday'),
      (p: ReturnType<typeof payloads>[number]) => ((p as { source: string }).source = 'carrier-pigeon'),
    ]) {
      const ps = payloads(100);
      spoil(ps[42]!);
      expect(refusal(ps)).toMatch(/invalid sf.fetch\/fetch-record payload/);
    }
    // Valid but different message-wide fields are accepted (checked whole).
    const ps = payloads(3);
    ps[2]!.connectionId = 'other';
    expect(refusal(ps)).toBeUndefined();
  });
});
