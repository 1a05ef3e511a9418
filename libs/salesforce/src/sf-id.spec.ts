import { describe, expect, it } from 'vitest';
import { isSalesforceId, makeId, normaliseRecordId, sameSalesforceId, toId18 } from './sf-id';

describe('Salesforce ids', () => {
  it('computes the documented 18-character form', () => {
    // Known pair from Salesforce documentation examples.
    expect(toId18('001A0000006Vm9r')).toBe('001A0000006Vm9rIAC');
  });
  it('accepts 18 with a valid checksum and rejects a wrong one', () => {
    expect(toId18('001A0000006Vm9rIAC')).toBe('001A0000006Vm9rIAC');
    expect(() => toId18('001A0000006Vm9rAAA')).toThrow(/checksum/);
    expect(isSalesforceId('001A0000006Vm9rAAA')).toBe(false);
  });
  it('rejects malformed ids', () => {
    expect(() => toId18('abc')).toThrow(/not a Salesforce id/);
    expect(() => toId18("001A0000006Vm9r'")).toThrow();
  });
  it('makes valid ids with a key prefix', () => {
    const id = makeId('500', 42);
    expect(id).toHaveLength(18);
    expect(id.startsWith('500')).toBe(true);
    expect(isSalesforceId(id)).toBe(true);
  });
});

describe('normaliseRecordId', () => {
  it('turns 15-character ids into 18, even all-digit ones, and leaves work order ids and other text alone', () => {
    expect(normaliseRecordId('500000000000006')).toBe(toId18('500000000000006'));
    expect(normaliseRecordId(' 500000000000006AAA ')).toBe('500000000000006AAA');
    expect(normaliseRecordId('100001')).toBe('100001');
    expect(normaliseRecordId('not an id')).toBe('not an id');
  });
});

describe('sameSalesforceId', () => {
  it('matches a 15-character id with its 18-character form, and nothing with an empty id', () => {
    const id18 = makeId('005', 9);
    expect(sameSalesforceId(id18.slice(0, 15), id18)).toBe(true);
    expect(sameSalesforceId(id18, makeId('005', 8))).toBe(false);
    expect(sameSalesforceId(undefined, id18)).toBe(false);
    expect(sameSalesforceId('', '')).toBe(false);
  });
});
