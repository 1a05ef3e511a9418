import { describe, expect, it } from 'vitest';
import { compileMapping } from './mapping-compiler';
import { MappingError } from './mapping-types';

const compile = (fields: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  compileMapping({ object: 'Case', fields, ...extra }, { targets: 'unchecked' });

function compileErrors(source: string | object, file = 'mappings/x.yaml'): string[] {
  try {
    compileMapping(source, { file, targets: 'unchecked' });
  } catch (err) {
    expect(err).toBeInstanceOf(MappingError);
    return (err as MappingError).message.split('\n');
  }
  throw new Error('expected a compile error');
}

function mapErrors(m: ReturnType<typeof compile>, record: Record<string, unknown>): MappingError {
  try {
    m.mapSync!(record);
  } catch (err) {
    return err as MappingError;
  }
  throw new Error('expected a MappingError');
}

describe('sources', () => {
  it('reads fields at any relationship depth; a null parent reads null', () => {
    const m = compile({ a: 'Account.Owner.Manager.Email', b: { from: 'Subject' } });
    expect(m.mapSync!({ Subject: 's', Account: { attributes: {}, Owner: { Manager: { Email: 'm@x' } } } })).toEqual({ a: 'm@x', b: 's' });
    expect(m.mapSync!({ Subject: 's', Account: { Owner: null } })).toEqual({ b: 's' });
    expect(m.mapSync!({ Account: null })).toEqual({});
  });
  it('static values, including objects, are never shared mutable state', () => {
    const m = compile({ 'location.mode': { value: 'custom' }, template: { value: { id: 433 } }, flag: { value: false } });
    const out = m.mapSync!({});
    expect(out).toEqual({ location: { mode: 'custom' }, template: { id: 433 }, flag: false });
    expect(Object.isFrozen(out.template)).toBe(true);
  });
  it('templates render nulls as nothing', () => {
    const m = compile({ t: { template: 'Case {{ CaseNumber }} for {{Account.Name}}.' } });
    expect(m.mapSync!({ CaseNumber: '001', Account: { Name: 'Acme' } }).t).toBe('Case 001 for Acme.');
    expect(m.mapSync!({ CaseNumber: '001', Account: null }).t).toBe('Case 001 for .');
    expect(m.reads).toEqual(['Account.Name', 'CaseNumber']);
  });
  it('concat skips empty parts and accepts literals', () => {
    const m = compile({ n: { concat: { parts: ['Contact.FirstName', { value: '/' }, 'Contact.LastName'], separator: ' ' } } });
    expect(m.mapSync!({ Contact: { FirstName: 'Jane', LastName: 'Doe' } }).n).toBe('Jane / Doe');
    expect(m.mapSync!({ Contact: { FirstName: null, LastName: 'Doe' } }).n).toBe('/ Doe');
  });
  it('nested objects and lists drop what is omitted', () => {
    const m = compile({
      'contacts.results': {
        list: [
          { when: 'Contact.LastName', fields: { name: 'Contact.LastName', role: { value: 'Location Contact' } } },
          { fields: { email: 'Account.Owner.Email' } },
        ],
        onEmpty: 'omit',
      },
    });
    expect(m.mapSync!({ Contact: { LastName: 'Doe' }, Account: { Owner: { Email: 'o@x' } } })).toEqual({
      contacts: { results: [{ name: 'Doe', role: 'Location Contact' }, { email: 'o@x' }] },
    });
    expect(m.mapSync!({ Contact: null, Account: { Owner: { Email: 'o@x' } } })).toEqual({ contacts: { results: [{ email: 'o@x' }] } });
    expect(m.mapSync!({ Contact: null, Account: null })).toEqual({});
    expect(m.writes).toEqual(['contacts.results']);
    expect(m.reads).toEqual(['Account.Owner.Email', 'Contact.LastName']);
  });
  it('a bare string is a field path', () => {
    expect(compile({ x: 'Subject' }).mapSync!({ Subject: 'y' })).toEqual({ x: 'y' });
  });
});

describe('null and empty policies', () => {
  const rec = { N: null, E: '  ', V: 'v' };
  it('omit is the default', () => {
    expect(compile({ a: 'N', b: 'E', c: 'V' }).mapSync!(rec)).toEqual({ c: 'v' });
  });
  it('null sends an explicit null', () => {
    expect(compile({ a: { from: 'N', onNull: 'null' } }).mapSync!(rec)).toEqual({ a: null });
  });
  it('default is used for null, and for empty unless onEmpty says otherwise', () => {
    expect(compile({ a: { from: 'N', default: 'd' }, b: { from: 'E', default: 'd' } }).mapSync!(rec)).toEqual({ a: 'd', b: 'd' });
    expect(compile({ b: { from: 'E', default: 'd', onEmpty: 'keep' } }).mapSync!(rec)).toEqual({ b: '  ' });
    expect(compile({ b: { from: 'E', default: 'd', onEmpty: 'null' } }).mapSync!(rec)).toEqual({ b: null });
  });
  it('required / fail report which level was null', () => {
    const m = compile({
      city: { from: 'Account.BillingCity', required: true },
      zip: { from: 'Account.BillingPostalCode', onNull: 'fail' },
    });
    const err = mapErrors(m, { Account: null });
    expect(err.issues).toEqual([
      { target: 'city', message: 'required value is missing: Account is null' },
      { target: 'zip', message: 'required value is missing: Account is null' },
    ]);
    expect(mapErrors(m, { Account: { BillingCity: null, BillingPostalCode: '1' } }).issues).toEqual([
      { target: 'city', message: 'required value is missing: Account.BillingCity is null' },
    ]);
    expect(mapErrors(compile({ t: { from: 'S', required: true } }), { S: '' }).issues[0]!.message).toMatch(/empty/);
  });
  it('fails on empty only when asked', () => {
    const m = compile({ t: { from: 'S', onEmpty: 'fail' } });
    expect(m.mapSync!({ S: null })).toEqual({});
    expect(mapErrors(m, { S: '' }).issues[0]).toEqual({ target: 't', message: 'required value is missing: the value is empty' });
  });
  it('when: leaves the entry out without applying the null policy', () => {
    const m = compile({ t: { from: 'S', required: true, when: 'Send' } });
    expect(m.mapSync!({ Send: false, S: null })).toEqual({});
    expect(() => m.mapSync!({ Send: true, S: null })).toThrow(MappingError);
  });
  it('collects every problem of a record in one error', () => {
    const m = compile(
      { a: { from: 'A', required: true }, b: { from: 'B', transform: ['number'] } },
      { customFields: { '5': { from: 'C', required: true } } },
    );
    const err = mapErrors(m, { B: 'x' });
    expect(err.issues.map((i) => i.target)).toEqual(['a', 'b', 'custom_fields.5']);
    expect(err.message).toMatch(/^3 problems:/);
  });
});

describe('custom fields', () => {
  it('builds the two-level structure with text values', () => {
    const m = compile(
      {},
      { customFields: { '606': 'CaseNumber', '12': { from: 'Amount__c' }, '7': { from: 'Missing' }, '8': { value: true } } },
    );
    expect(m.mapSync!({ CaseNumber: '00001', Amount__c: 12.5, Missing: null })).toEqual({
      // Numeric keys keep ascending order (JavaScript object key order).
      custom_fields: {
        results: [
          {
            results: [
              { id: 8, value: 'true' },
              { id: 12, value: '12.5' },
              { id: 606, value: '00001' },
            ],
          },
        ],
      },
    });
    expect(m.writes).toEqual(['custom_fields.12', 'custom_fields.606', 'custom_fields.7', 'custom_fields.8']);
  });
  it('no custom values, no custom_fields key', () => {
    expect(compile({}, { customFields: { '1': 'X' } }).mapSync!({})).toEqual({});
  });
});

describe('compiled metadata', () => {
  it('reads are exact and sorted; writes and createOnly list targets', () => {
    const m = compile(
      {
        title: { from: 'Subject', createOnly: true },
        'location.city': 'Account.BillingCity',
        'schedule.service_window.start.utc': { from: 'D', transform: [{ date: { zoneFrom: 'Site_Time_Zone__c' } }] },
        pay: { from: 'Priority', transform: [{ map: { High: 1 }, fallback: { from: 'Fallback__c' } }] },
      },
      { customFields: { '9': { from: 'Id', createOnly: true } } },
    );
    expect(m.object).toBe('Case');
    expect(m.reads).toEqual(['Account.BillingCity', 'D', 'Fallback__c', 'Id', 'Priority', 'Site_Time_Zone__c', 'Subject']);
    expect(m.writes).toEqual(['custom_fields.9', 'location.city', 'pay', 'schedule.service_window.start.utc', 'title']);
    expect(m.createOnly).toEqual(['custom_fields.9', 'title']);
    expect(m.hasExpressions).toBe(false);
    expect(typeof m.mapSync).toBe('function');
  });
  it('map() resolves to the same payload as mapSync', async () => {
    const m = compile({ a: 'A' });
    await expect(m.map({ A: 1 })).resolves.toEqual({ a: 1 });
    await expect(compile({ a: { from: 'A', required: true } }).map({})).rejects.toBeInstanceOf(MappingError);
  });
});

describe('validation errors name the file, the target and the problem', () => {
  it('YAML syntax', () => {
    expect(compileErrors('object: Case\nfields: [unclosed')[0]).toMatch(/^mappings\/x\.yaml: \(file\): not valid YAML\/JSON/);
  });
  it('structure', () => {
    expect(compileErrors({ fields: {} })[0]).toMatch(/mappings\/x\.yaml: object: /);
    expect(compileErrors({ object: 'Case', fields: { title: { from: 'Subject', colour: 'red' } } }).join('\n')).toMatch(
      /x\.yaml: title: .*colour/,
    );
    expect(compileErrors({ object: 'Case', fields: { title: { from: 'S', onNull: 'maybe' } } }).join('\n')).toMatch(
      /x\.yaml: title: onNull: /,
    );
    // A key that is not an id is a custom field's name: it needs Field Nation's catalogue to become one.
    expect(compileErrors({ object: 'Case', fields: {}, customFields: { abc: 'X' } }).join('\n')).toMatch(
      /custom_fields\.abc: names the custom field "abc", which only Field Nation can turn into an id/,
    );
  });
  it('sources', () => {
    expect(compileErrors({ object: 'Case', fields: { t: {} } })[0]).toBe(
      'mappings/x.yaml: t: needs one source: from, value, template, concat, jsonata, jsonnet, fields, list',
    );
    expect(compileErrors({ object: 'Case', fields: { t: { from: 'A', value: 1 } } })[0]).toMatch(/several sources \(from, value\)/);
    expect(compileErrors({ object: 'Case', fields: { t: { from: 'A', reads: ['B'] } } })[0]).toMatch(
      /"reads:" is only for jsonata and jsonnet/,
    );
  });
  it('paths', () => {
    expect(compileErrors({ object: 'Case', fields: { t: 'A.B.C.D.E.F.G' } })[0]).toMatch(
      /x\.yaml: t: from: .*6 relationship levels; Salesforce allows at most 5/,
    );
    expect(compileErrors({ object: 'Case', fields: { t: 'Account.attributes.type' } })[0]).toMatch(/jsforce metadata/);
    expect(compileErrors({ object: 'Case', fields: { t: 'Subject FROM User' } })[0]).toMatch(/not a Salesforce field path/);
    expect(compileErrors({ object: 'Case', fields: { 'bad-target': 'A' } })[0]).toMatch(/bad-target: .*not a target path/);
    expect(compileErrors({ object: 'Case', fields: { t: { template: 'x {{ A B }}' } } })[0]).toMatch(/unbalanced/);
    expect(compile({ t: 'A.B.C.D.E.F' }).reads).toEqual(['A.B.C.D.E.F']);
  });
  it('conflicting targets and policies', () => {
    expect(compileErrors({ object: 'Case', fields: { location: { value: {} }, 'location.city': 'C' } })[0]).toMatch(
      /location\.city: conflicts with target "location"/,
    );
    expect(compileErrors({ object: 'Case', fields: { t: { from: 'A', onNull: 'default' } } })[0]).toMatch(/no default is given/);
    expect(compileErrors({ object: 'Case', fields: { t: { from: 'A', required: true, onNull: 'omit' } } })[0]).toMatch(
      /required conflicts with onNull: omit/,
    );
    expect(compileErrors({ object: 'Case', fields: { custom_fields: { value: {} } }, customFields: { '1': 'A' } })[0]).toMatch(
      /either in "customFields:"/,
    );
  });
  it('reports every problem at once', () => {
    const lines = compileErrors({ object: 'Case', fields: { a: {}, b: 'A..B', c: { from: 'C', transform: ['nope'] } } });
    expect(lines[0]).toBe('3 problems:');
  });
});
