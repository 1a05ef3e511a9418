import { describe, expect, it } from 'vitest';
import { compileMapping } from './mapping-compiler';
import { MappingError } from './mapping-types';
import { minimalUpdate } from './minimal-update';

const compile = (fields: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  compileMapping({ object: 'Case', fields, ...extra }, { targets: 'unchecked' });

function compileErrors(source: object): string[] {
  try {
    compileMapping(source, { file: 'mappings/x.yaml', targets: 'unchecked' });
  } catch (err) {
    expect(err).toBeInstanceOf(MappingError);
    return (err as MappingError).message.split('\n');
  }
  throw new Error('expected a compile error');
}

const record = (street: string, city: string) => ({ Subject: 's', Account: { BillingStreet: street, BillingCity: city } });

describe('createOnly inside nested fields:', () => {
  const nested = compile({
    location: {
      fields: {
        mode: { value: 'custom' },
        address1: 'Account.BillingStreet',
        city: { from: 'Account.BillingCity', createOnly: true },
      },
    },
  });

  it('is reported with its full target path', () => {
    expect(nested.createOnly).toEqual(['location.city']);
    expect(nested.writes).toEqual(['location.address1', 'location.city', 'location.mode']);
  });

  it('is set on create and never sent on update', () => {
    const first = nested.mapSync!(record('1 Main', 'Minneapolis'));
    expect(first).toEqual({ location: { mode: 'custom', address1: '1 Main', city: 'Minneapolis' } });
    // No previous payload (first update of a work order created elsewhere): everything but create-only.
    expect(minimalUpdate(undefined, first, nested.createOnly)).toEqual({ location: { mode: 'custom', address1: '1 Main' } });
    // Only the create-only value changed: nothing to send.
    expect(minimalUpdate(first, nested.mapSync!(record('1 Main', 'St Paul')), nested.createOnly)).toBeNull();
    // Another value of the section changed: the section goes out without the create-only city.
    expect(minimalUpdate(first, nested.mapSync!(record('2 Main', 'St Paul')), nested.createOnly)).toEqual({
      location: { mode: 'custom', address1: '2 Main' },
    });
  });

  it('behaves exactly like the same target written as a dotted path', () => {
    const dotted = compile({
      'location.mode': { value: 'custom' },
      'location.address1': 'Account.BillingStreet',
      'location.city': { from: 'Account.BillingCity', createOnly: true },
    });
    expect(dotted.createOnly).toEqual(nested.createOnly);
    const prev = dotted.mapSync!(record('1 Main', 'A'));
    for (const next of [record('1 Main', 'B'), record('2 Main', 'B')]) {
      expect(minimalUpdate(prev, nested.mapSync!(next), nested.createOnly)).toEqual(
        minimalUpdate(prev, dotted.mapSync!(next), dotted.createOnly),
      );
    }
  });

  it('is carried up through several levels of fields:', () => {
    const m = compile({ a: { fields: { b: { fields: { c: { from: 'C', createOnly: true }, d: 'D' } } } } });
    expect(m.createOnly).toEqual(['a.b.c']);
    expect(minimalUpdate({ a: { b: { c: 1, d: 1 } } }, m.mapSync!({ C: 2, D: 2 }), m.createOnly)).toEqual({ a: { b: { d: 2 } } });
  });

  it('a create-only parent covers its children', () => {
    const m = compile({
      location: { createOnly: true, fields: { city: { from: 'Account.BillingCity', createOnly: true } } },
      title: 'Subject',
    });
    expect(m.createOnly).toEqual(['location']);
    expect(minimalUpdate(undefined, m.mapSync!(record('x', 'y')), m.createOnly)).toEqual({ title: 's' });
  });

  it('a whole list can be create-only', () => {
    const m = compile({ 'contacts.results': { createOnly: true, list: [{ fields: { name: 'Contact.Name' } }] } });
    expect(m.createOnly).toEqual(['contacts.results']);
    expect(minimalUpdate(undefined, m.mapSync!({ Contact: { Name: 'n' } }), m.createOnly)).toBeNull();
  });

  it('inside a list element it is refused at compile time, naming the file and the target', () => {
    const lines = compileErrors({
      object: 'Case',
      fields: {
        'contacts.results': {
          list: [{ fields: { name: 'Contact.Name', email: { from: 'Contact.Email', createOnly: true } } }, { from: 'X', createOnly: true }],
        },
      },
    });
    expect(lines).toEqual([
      '2 problems:',
      '  - mappings/x.yaml: contacts.results[0].email: createOnly inside a list element cannot be honoured (the list is sent whole on update); mark "contacts.results" createOnly instead',
      '  - mappings/x.yaml: contacts.results[1]: createOnly inside a list element cannot be honoured (the list is sent whole on update); mark "contacts.results" createOnly instead',
    ]);
  });

  it("inside a custom field's value it is refused at compile time", () => {
    const lines = compileErrors({
      object: 'Case',
      fields: {},
      customFields: { '606': { fields: { a: 'A', b: { from: 'B', createOnly: true } } } },
    });
    expect(lines).toEqual([
      `mappings/x.yaml: custom_fields.606.b: createOnly inside a custom field's value cannot be honoured (the value is sent as one text); mark "custom_fields.606" createOnly instead`,
    ]);
  });
});
