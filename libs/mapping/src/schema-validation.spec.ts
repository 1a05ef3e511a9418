import { describe, expect, it } from 'vitest';
import { compileMapping } from './mapping-compiler';
import { validateMapping, type NameLookup } from './mapping-loader';
import { MappingError, type MappingIssue } from './mapping-types';

const FILE = 'config/mappings/case.yaml';

function issues(source: object | string): MappingIssue[] {
  try {
    compileMapping(source, { file: FILE });
  } catch (err) {
    expect(err).toBeInstanceOf(MappingError);
    expect((err as MappingError).file).toBe(FILE);
    return (err as MappingError).issues;
  }
  return [];
}

/** Every error names the file (MappingError.file, checked above), the entry and the fix. */
function only(source: object | string): MappingIssue {
  const found = issues(source);
  expect(found).toHaveLength(1);
  expect(found[0]!.target).not.toBe('');
  expect(found[0]!.fix).toBeTruthy();
  return found[0]!;
}

const mapping = (fields: Record<string, unknown>, extra: object = {}) => ({
  object: 'Case',
  fields: { title: 'Subject', ...fields },
  ...extra,
});

describe('targets are checked against the Field Nation work order', () => {
  it('accepts the documented targets, nested fields and lists', () => {
    expect(
      issues(
        mapping({
          'location.city': 'Account.BillingCity',
          'location.mode': { value: 'custom' },
          schedule: { fields: { 'service_window.mode': { value: 'between' }, 'service_window.start.utc': 'Date__c' } },
          'contacts.results': { list: [{ fields: { name: 'Contact.Name', email: 'Contact.Email' } }] },
          types_of_work: { from: 'Work_Type__c', transform: [{ map: { A: 62 }, fallback: 27 }, 'typesOfWork'] },
          'pay.base.amount': { from: 'Priority', transform: [{ map: { Low: 90, High: '180' } }], default: 120 },
          require_ontime: { value: true },
        }),
      ),
    ).toEqual([]);
  });

  it('a misspelt target names the entry and the closest real path', () => {
    const i = only(mapping({ 'locaton.city': 'Account.BillingCity' }));
    expect(i).toEqual({
      target: 'locaton.city',
      message: `Field Nation's work order has no field "locaton"`,
      fix: 'did you mean "location.city"? (the work-order targets are listed by `broker mapping targets` and in docs/mapping.md ("Targets"))',
    });
    expect(new MappingError([i], FILE).message).toBe(
      `${FILE}: locaton.city: Field Nation's work order has no field "locaton" — fix: did you mean "location.city"? (the work-order targets are listed by \`broker mapping targets\` and in docs/mapping.md ("Targets"))`,
    );
  });

  it('inside nested fields: the full path and a nested suggestion', () => {
    const i = only(mapping({ location: { fields: { citty: 'Account.BillingCity' } } }));
    expect(i.target).toBe('location.citty');
    expect(i.message).toBe(`Field Nation's work order has no field "citty"`);
    expect(i.fix).toMatch(/^did you mean "location.city"\?/);
  });

  it('an unknown enum value, static or mapped, names the values Field Nation accepts', () => {
    const i = only(mapping({ 'schedule.service_window.mode': { value: 'betwen' } }));
    expect(i.target).toBe('schedule.service_window.mode');
    expect(i.message).toBe(
      'value: "betwen" is not a value Field Nation accepts: one of "hours", "between", "exact" (did you mean "between"?)',
    );
    expect(i.fix).toBe('use one of "hours", "between", "exact"');
    const mapped = only(
      mapping({ 'schedule.service_window.mode': { from: 'Priority', transform: [{ map: { High: 'exact', Low: 'betwen' } }] } }),
    );
    expect(mapped.message).toMatch(/^mapped value: "betwen" is not a value/);
    expect(only(mapping({ 'location.mode': { from: 'X', default: 'onsite' } })).message).toMatch(/^default: "onsite" is not a value/);
    expect(only(mapping({ 'pay.type': { value: 'fixd' } })).fix).toBe('use one of "fixed", "hourly", "device", "blended"');
  });

  it('types: a number, a boolean, a list where Field Nation wants them', () => {
    expect(only(mapping({ 'pay.base.amount': { value: 'lots' } })).message).toBe('value: must be a number, got "lots"');
    expect(only(mapping({ require_ontime: { value: 'yes' } })).message).toBe('value: must be true or false, got "yes"');
    expect(only(mapping({ types_of_work: { from: 'X', transform: [{ map: { A: 'Point of Sale' } }, 'typesOfWork'] } })).message).toBe(
      'mapped value: [0].id: must be a number, got "Point of Sale"',
    );
    expect(only(mapping({ title: { fields: { a: 'Subject' } } })).message).toBe('takes a string, not an object built with fields:');
    expect(only(mapping({ 'contacts.results.name': 'Contact.Name' })).fix).toBe(
      'build the list at "contacts.results" with list: [ { fields: { … } } ]',
    );
    expect(only(mapping({ location: { value: { city: 'X', zipp: '1' } } })).message).toMatch(
      /^value: zipp: Field Nation has no such field \(did you mean "zip"\?\)/,
    );
  });

  it('every problem of a file at once', () => {
    expect(issues(mapping({ 'locaton.city': 'A', 'schedule.service_window.mode': { value: 'betwen' } })).map((i) => i.target)).toEqual([
      'locaton.city',
      'schedule.service_window.mode',
    ]);
  });

  it('`targets: unchecked` leaves the paths alone (engine tests, other sinks)', () => {
    expect(() => compileMapping(mapping({ anything: 'A' }), { targets: 'unchecked' })).not.toThrow();
  });
});

describe('expressions that read undeclared fields are errors', () => {
  it('JSONata: every named path, relative paths resolved, $lookup with a literal', () => {
    const i = only(mapping({ description: { fields: { html: { jsonata: 'Account.Name & Account.Phone', reads: ['Account.Name'] } } } }));
    expect(i.target).toBe('description.html');
    expect(i.message).toMatch(/^jsonata reads Account.Phone, which "reads:" does not declare/);
    expect(i.fix).toBe('add "Account.Phone" to reads: (now [Account.Name]), or correct the field name');
    expect(only(mapping({ incident_id: { jsonata: 'Account.$uppercase(Nme)', reads: ['Account.Name'] } })).message).toMatch(
      /reads Account.Nme,/,
    );
    expect(only(mapping({ incident_id: { jsonata: "$lookup($, 'Origin')", reads: ['Subject'] } })).message).toMatch(/reads Origin,/);
    expect(issues(mapping({ incident_id: { jsonata: 'Account[Name="x"].Id', reads: ['Account.Name', 'Account.Id'] } }))).toEqual([]);
  });

  it('JSONata: a computed read is caught by evaluating against the declared fields', async () => {
    const source = mapping({ incident_id: { jsonata: "$lookup($, 'Ori' & 'gin')", reads: ['Subject'] } });
    const compiled = compileMapping(source, { file: FILE });
    const late = await compiled.checkExpressions();
    expect(late).toHaveLength(1);
    expect(late[0]).toMatchObject({ target: 'incident_id', message: expect.stringMatching(/^jsonata reads Origin \(seen when evaluated/) });
    await expect(validateMapping(source, { file: FILE })).rejects.toThrow(
      /case\.yaml: incident_id: jsonata reads Origin .* — fix: add "Origin" to reads:/,
    );
    // A computed read of a declared field passes.
    const fine = compileMapping(mapping({ incident_id: { jsonata: "$lookup($, 'Sub' & 'ject')", reads: ['Subject'] } }));
    await expect(fine.checkExpressions()).resolves.toEqual([]);
  });

  it('Jsonnet: $.input paths and lookup_field literals statically', () => {
    expect(only(mapping({ incident_id: { jsonnet: '$.input.Account.Phone', reads: ['Account.Name'] } })).message).toMatch(
      /^jsonnet reads Account.Phone, which "reads:"/,
    );
    expect(only(mapping({ incident_id: { jsonnet: "$.util.lookup_field($.input, 'Origin', 'x')", reads: ['Subject'] } })).message).toMatch(
      /^jsonnet reads Origin,/,
    );
    expect(issues(mapping({ incident_id: { jsonnet: "$.util.lookup_field($.input, 'Account.Name')", reads: ['Account.Name'] } }))).toEqual(
      [],
    );
  });

  it('Jsonnet: computed reads by evaluation', () => {
    const i = only(mapping({ incident_id: { jsonnet: "$.util.lookup_field($.input, 'Ori' + 'gin', '')", reads: ['Subject'] } }));
    expect(i.message).toMatch(/^jsonnet reads Origin \(seen when evaluated against the declared fields\)/);
    expect(only(mapping({ incident_id: { jsonnet: "local r = $.input; r['Ori' + 'gin']", reads: ['Subject'] } })).message).toMatch(
      /^jsonnet reads Origin/,
    );
    expect(issues(mapping({ incident_id: { jsonnet: "local r = $.input; r['Sub' + 'ject']", reads: ['Subject'] } }))).toEqual([]);
  });
});

describe('names instead of ids', () => {
  const catalogues = {
    typesOfWork: [
      { id: 62, name: 'Point of Sale' },
      { id: 93, name: 'Networking' },
      { id: 94, name: 'Networking' },
    ],
    customFields: [{ id: 608, name: 'Store Number' }],
    templates: [{ id: 433, name: 'POS Replacement' }],
    projects: [{ id: 55, name: 'Retail Rollout 2026' }],
  };
  const named = mapping(
    {
      types_of_work: {
        from: 'Work_Type__c',
        transform: [
          { map: { POS: { typeOfWork: 'point of  sale' } }, fallback: { value: { typeOfWork: 'Point of Sale' } } },
          'typesOfWork',
        ],
      },
      'template.id': { value: { template: 'POS Replacement' } },
      'project.id': { value: { project: 'Retail Rollout 2026' } },
    },
    { customFields: { 'Store Number': 'Account.Site' } },
  );

  it('resolve to ids (case and spacing ignored) and map like ids', async () => {
    const m = compileMapping(named, { catalogues });
    expect(m.writes).toContain('custom_fields.608');
    await expect(m.map({ Subject: 'S', Work_Type__c: 'POS', Account: { Site: '17' } })).resolves.toEqual({
      title: 'S',
      types_of_work: [{ id: 62, isPrimary: true }],
      template: { id: 433 },
      project: { id: 55 },
      custom_fields: { results: [{ results: [{ id: 608, value: '17' }] }] },
    });
  });

  it('the lookup is asked for exactly the catalogues named, and never without names', async () => {
    const asked: string[] = [];
    const lookup: NameLookup = { catalogue: async (kind) => (asked.push(kind), catalogues[kind]) };
    await validateMapping(named, { lookup });
    expect(asked.sort()).toEqual(['customFields', 'projects', 'templates', 'typesOfWork']);
    asked.length = 0;
    await validateMapping(mapping({ 'template.id': { value: 433 } }), { lookup });
    expect(asked).toEqual([]);
  });

  it('unknown and ambiguous names: the entry, close candidates, and the fix', () => {
    const unknown = issues(mapping({ types_of_work: { value: [{ id: { typeOfWork: 'Point of Sail' }, isPrimary: true }] } }));
    expect(unknown).toHaveLength(1);
    const u = (() => {
      try {
        compileMapping(mapping({ 'template.id': { value: { template: 'POS Replacment' } } }), { file: FILE, catalogues });
      } catch (err) {
        return (err as MappingError).issues;
      }
      return [];
    })();
    expect(u).toEqual([
      {
        target: 'template.id',
        message: 'no template named "POS Replacment" on this Field Nation company; close: "POS Replacement" (433)',
        fix: 'use a name or id from `broker fieldnation lookup templates` (names and ids differ between sandbox and production)',
      },
    ]);
    const a = (() => {
      try {
        compileMapping(mapping({ types_of_work: { value: [{ id: { typeOfWork: 'Networking' } }] } }), { file: FILE, catalogues });
      } catch (err) {
        return (err as MappingError).issues[0];
      }
    })();
    expect(a).toMatchObject({
      target: 'types_of_work',
      message: 'type of work "Networking" is ambiguous: 2 types of work have that name: "Networking" (93), "Networking" (94)',
      fix: expect.stringMatching(/^use the id instead of the name/),
    });
  });

  it('a catalogue that cannot be listed is an error naming it', async () => {
    const lookup: NameLookup = {
      catalogue: async () => {
        throw new Error('GET /templates: 503');
      },
    };
    await expect(validateMapping(mapping({ 'template.id': { value: { template: 'X' } } }), { file: FILE, lookup })).rejects.toThrow(
      /case\.yaml: \(names\): cannot list Field Nation templates to resolve the names the mapping uses: GET \/templates: 503 — fix: /,
    );
  });
});
