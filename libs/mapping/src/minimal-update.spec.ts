import { describe, expect, it } from 'vitest';
import { canonicalJson, minimalUpdate, payloadHash } from './minimal-update';

const base = {
  title: 'T',
  location: { mode: 'custom', address1: '1 Main', city: 'X' },
  pay: { type: 'fixed', base: { amount: 100, units: 1 } },
  types_of_work: [{ id: 62, isPrimary: true }],
  custom_fields: {
    results: [
      {
        results: [
          { id: 606, value: 'C1' },
          { id: 607, value: '500X' },
        ],
      },
    ],
  },
};

describe('payloadHash', () => {
  it('is stable under key order and ignores undefined', () => {
    expect(payloadHash({ a: 1, b: { c: 2, d: [1, { x: 1, y: 2 }] } })).toBe(
      payloadHash({ b: { d: [1, { y: 2, x: 1 }], c: 2 }, a: 1, z: undefined }),
    );
    expect(payloadHash({ a: 1 })).not.toBe(payloadHash({ a: 2 }));
    expect(payloadHash({ a: [1, 2] })).not.toBe(payloadHash({ a: [2, 1] }));
    expect(canonicalJson({ b: 1, a: 'x' })).toBe('{"a":"x","b":1}');
    expect(payloadHash(base)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('minimalUpdate', () => {
  it('null when nothing changed', () => {
    expect(minimalUpdate(base, structuredClone(base), [])).toBeNull();
  });
  it('sends a changed section whole, and only that section', () => {
    const next = structuredClone(base);
    next.location.city = 'Y';
    expect(minimalUpdate(base, next, [])).toEqual({ location: { mode: 'custom', address1: '1 Main', city: 'Y' } });
  });
  it('sends only the custom fields whose value changed', () => {
    const next = structuredClone(base);
    next.custom_fields.results[0]!.results[0]!.value = 'C2';
    expect(minimalUpdate(base, next, [])).toEqual({ custom_fields: { results: [{ results: [{ id: 606, value: 'C2' }] }] } });
  });
  it('never sends create-only paths, including custom fields and nested paths', () => {
    const next = structuredClone(base);
    next.title = 'T2';
    next.custom_fields.results[0]!.results[1]!.value = 'other';
    next.pay.base.units = 2;
    expect(minimalUpdate(base, next, ['title', 'custom_fields.607', 'pay.base.units'])).toBeNull();
    next.pay.base.amount = 150;
    expect(minimalUpdate(base, next, ['title', 'custom_fields.607', 'pay.base.units'])).toEqual({
      pay: { type: 'fixed', base: { amount: 150 } },
    });
  });
  it('without a previous payload sends everything except create-only paths', () => {
    expect(minimalUpdate(undefined, base, ['title', 'custom_fields.607', 'custom_fields.606', 'location'])).toEqual({
      pay: base.pay,
      types_of_work: base.types_of_work,
    });
    expect(minimalUpdate(undefined, { title: 'x' }, ['title'])).toBeNull();
  });
  it('an omitted target is left alone; an explicit null is sent', () => {
    const { pay: _pay, ...withoutPay } = base;
    expect(minimalUpdate(base, withoutPay, [])).toBeNull();
    expect(minimalUpdate(base, { ...base, title: null }, [])).toEqual({ title: null });
  });
  it('compares against a work order as Field Nation returns it (a superset, other shapes)', () => {
    const workOrder = {
      id: 9,
      title: 'T',
      status: { id: 2, name: 'Published' },
      location: { mode: 'custom', address1: '1 Main', city: 'X', coordinates: { latitude: 1 }, correlation_id: 'abc' },
      pay: { type: 'fixed', base: { amount: '100', units: 1 }, labor_sum: 100 },
      types_of_work: [{ id: 62, isPrimary: true, name: 'Networking' }],
      custom_fields: {
        results: [
          {
            id: 1,
            name: 'Buyer',
            results: [
              { id: 606, name: 'Case', value: 'C1', type: 'text' },
              { id: 607, value: '500X' },
            ],
          },
        ],
      },
      actions: ['edit'],
    };
    expect(minimalUpdate(workOrder, base, [])).toBeNull();
    const next = { ...base, types_of_work: [{ id: 63, isPrimary: true }] };
    expect(minimalUpdate(workOrder, next, [])).toEqual({ types_of_work: [{ id: 63, isPrimary: true }] });
    // Collections come back wrapped as {results: [...]}.
    expect(minimalUpdate({ contacts: { results: [{ name: 'a', id: 3 }] } }, { contacts: [{ name: 'a' }] }, [])).toBeNull();
  });
  it('a custom field missing on the work order is sent', () => {
    expect(minimalUpdate({ title: 'T' }, { title: 'T', custom_fields: { results: [{ results: [{ id: 5, value: '' }] }] } }, [])).toEqual({
      custom_fields: { results: [{ results: [{ id: 5, value: '' }] }] },
    });
  });
});
