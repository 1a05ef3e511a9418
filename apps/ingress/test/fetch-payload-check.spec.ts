import { describe, expect, it } from 'vitest';
import { FetchRecordJob, PayloadError, sfFetchQueue } from '@broker/contracts';
import { makeId } from '@broker/salesforce';
import { z } from 'zod';
import { checkFetchPayloads, isStringRecord, PER_NOTIFICATION_FIELDS } from '../src/outbound-message.handler';

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

  it('checks snapshots by hand only while the contract’s snapshot schema is the pinned record of strings and nulls', () => {
    // If the contract's snapshot schema changes (a limit, a refinement), this fails: then
    // isStringRecord no longer matches it and checkFetchPayloads must check snapshots with zod.
    const snapshot = FetchRecordJob.shape.snapshot.unwrap();
    expect(z.toJSONSchema(FetchRecordJob.shape.snapshot)).toEqual({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      default: {},
      type: 'object',
      propertyNames: { type: 'string' },
      additionalProperties: { type: ['string', 'null'] },
    });
    const defs = [snapshot, snapshot._zod.def.keyType, snapshot._zod.def.valueType, snapshot._zod.def.valueType.unwrap()];
    for (const schema of defs) expect(schema._zod.def.checks ?? []).toEqual([]);

    // And what the hand check accepts, zod accepts; the records the ingress builds take the hand check.
    const values: unknown[] = ['', 'x', null, 0, 1.5, true, undefined, {}, [], ['a'], new Date(0), Symbol('s'), 10n];
    const records: unknown[] = [{}, Object.create(null), [], null, 'text', 7, new Map(), new Date(0)];
    records.push(Object.assign(Object.create({ inherited: 1 }), { a: 'x' }));
    records.push(Object.defineProperty({ a: 'x' }, 'hidden', { value: 5, enumerable: false }));
    records.push({ a: 'x', [Symbol('s')]: 'y' });
    for (const a of values) for (const b of values) records.push({ a, b }, { [`k${String(a).length}`]: b });
    for (const r of records) {
      const zodAccepts = FetchRecordJob.shape.snapshot.safeParse(r).success;
      if (isStringRecord(r)) expect(zodAccepts, String(JSON.stringify(r))).toBe(true);
    }
    for (const r of [{}, { Id: makeId('500', 1), Status: null }, { Ünïcode__c: 'é', Empty: '' }, ...payloads(3).map((p) => p.snapshot)])
      expect(isStringRecord(r)).toBe(true);
    expect(isStringRecord(Object.defineProperty({ a: 'x' }, 'hidden', { value: 5, enumerable: false }))).toBe(false);
    expect(isStringRecord({ a: 'x', [Symbol('s')]: 'y' })).toBe(false);
  });

  it('checks the snapshots of another contract with that contract’s schema', () => {
    const strict = {
      ...sfFetchQueue,
      jobs: {
        'fetch-record': FetchRecordJob.extend({
          snapshot: z.record(z.string(), z.string().nullable()).refine((s) => !('Secret__c' in s), 'no secrets'),
        }),
      },
    } as unknown as typeof sfFetchQueue;
    const ps = payloads(100);
    ps[42]!.snapshot.Secret__c = 'x';
    expect(() => checkFetchPayloads(strict, ps)).toThrow(/snapshot: no secrets/);
    expect(() => checkFetchPayloads(sfFetchQueue, ps)).not.toThrow();
  });

  it('checks each distinct sfObject of a message', () => {
    const ps = payloads(100);
    for (let i = 50; i < 100; i++) ps[i]!.sfObject = 'Account';
    expect(refusal(ps)).toBeUndefined();
    ps[80]!.sfObject = 'Not valid';
    expect(refusal(ps)).toMatch(/sfObject: Salesforce object API name/);
  });
});
