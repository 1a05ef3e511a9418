import { describe, expect, it } from 'vitest';
import { compileMapping } from './mapping-compiler';
import { runJsonnet } from './jsonnet-runner';
import { MappingError } from './mapping-types';

const compile = (fields: Record<string, unknown>) => compileMapping({ object: 'Case', fields }, { file: 'x.yaml', targets: 'unchecked' });

async function mapError(m: ReturnType<typeof compile>, record: Record<string, unknown>): Promise<MappingError> {
  try {
    await m.map(record);
  } catch (err) {
    return err as MappingError;
  }
  throw new Error('expected a MappingError');
}

const compileMessage = (fields: Record<string, unknown>) => {
  try {
    compile(fields);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a compile error');
};

describe('JSONata entries', () => {
  it('evaluate over the declared reads; the mapping becomes async', async () => {
    const m = compile({
      title: { jsonata: "$uppercase(Account.Name) & ' / ' & CaseNumber", reads: ['Account.Name', 'CaseNumber'] },
      plain: 'Subject',
    });
    expect(m.hasExpressions).toBe(true);
    expect(m.mapSync).toBeUndefined();
    expect(m.reads).toEqual(['Account.Name', 'CaseNumber', 'Subject']);
    await expect(m.map({ Account: { Name: 'acme' }, CaseNumber: '7', Subject: 's' })).resolves.toEqual({ title: 'ACME / 7', plain: 's' });
  });
  it('transforms and null policies apply to the result; undefined is null', async () => {
    const m = compile({
      a: { jsonata: 'Missing__c', reads: ['Missing__c'], default: 'd' },
      b: { jsonata: 'N * 2', reads: ['N'], transform: [{ prefix: '#' }] },
    });
    await expect(m.map({ N: 4 })).resolves.toEqual({ a: 'd', b: '#8' });
  });
  it('$fnDate formats a date for Field Nation', async () => {
    const m = compile({ d: { jsonata: '$fnDate(D)', reads: ['D'] } });
    await expect(m.map({ D: '2026-07-01T09:00:00-05:00' })).resolves.toEqual({ d: '2026-07-01 14:00:00' });
  });
  it('an expression sees only what it declared', async () => {
    const m = compile({ a: { jsonata: '$string($keys(Account))', reads: ['Account.Name'] } });
    await expect(m.map({ Account: { Name: 'n', Phone: '555' } })).resolves.toEqual({ a: 'Name' });
  });
  it('reading an undeclared field is a compile error, not a null', () => {
    expect(compileMessage({ a: { jsonata: 'Account.Name & "/" & Account.Phone', reads: ['Account.Name'] } })).toBe(
      'x.yaml: a: jsonata reads Account.Phone, which "reads:" does not declare: the expression gets only the declared fields, so it would always be null — fix: add "Account.Phone" to reads: (now [Account.Name]), or correct the field name',
    );
  });
  it('compile errors: syntax, missing reads, undeclared roots', () => {
    expect(compileMessage({ a: { jsonata: 'Account.(', reads: ['Account.Name'] } })).toMatch(/^x\.yaml: a: jsonata: .* at position \d+/);
    expect(compileMessage({ a: { jsonata: 'Subject' } })).toMatch(/must list the Salesforce fields they read in "reads:"/);
    expect(compileMessage({ a: { jsonata: 'Subject & Origin', reads: ['Subject'] } })).toMatch(
      /jsonata reads Origin, which "reads:" does not declare/,
    );
    expect(compileMessage({ a: { jsonata: 'Subject', reads: ['Bad Path'] } })).toMatch(/reads: "Bad Path" is not a Salesforce field path/);
  });
  it('runtime errors name the entry and show the input', async () => {
    const m = compile({ total: { jsonata: '$number(Amount__c) + 1', reads: ['Amount__c'] } });
    const err = await mapError(m, { Amount__c: 'abc' });
    expect(err.issues[0]).toMatchObject({ target: 'total', input: { Amount__c: 'abc' } });
    expect(err.issues[0]!.message).toMatch(/^jsonata: /);
    expect(err.message).toContain('(input: {"Amount__c":"abc"})');
  });
});

describe('Jsonnet entries', () => {
  it('run with $.input and $.util like the Field Nation broker; stay synchronous', () => {
    const m = compile({
      title: {
        jsonnet: "$.util.lookup_field($.input, 'Account.Name', 'none') + ' #' + $.input.CaseNumber",
        reads: ['Account.Name', 'CaseNumber'],
      },
    });
    expect(m.hasExpressions).toBe(true);
    expect(m.mapSync!({ Account: { Name: 'Acme' }, CaseNumber: '1' })).toEqual({ title: 'Acme #1' });
    expect(m.mapSync!({ Account: null, CaseNumber: '1' })).toEqual({ title: 'none #1' });
  });
  it('can build whole sections', () => {
    const m = compile({
      schedule: {
        jsonnet: `local start = $.util.date_convert($.input.D, 'iso', $.util.date_time_format_fn_utc());
{ service_window: { mode: 'exact', start: { utc: start } } }`,
        reads: ['D'],
      },
    });
    expect(m.mapSync!({ D: '2026-07-01T09:00:00-05:00' })).toEqual({
      schedule: { service_window: { mode: 'exact', start: { utc: '2026-07-01 14:00:00' } } },
    });
  });
  it('syntax errors at compile time, runtime errors with the input', () => {
    expect(compileMessage({ a: { jsonnet: '{ a: ', reads: ['A'] } })).toMatch(/^x\.yaml: a: jsonnet: syntax error/);
    const m = compile({ a: { jsonnet: "error 'no ' + $.input.A", reads: ['A'] } });
    expect(() => m.mapSync!({ A: 'way' })).toThrow(/a: jsonnet: runtime error: no way.*\(input: \{"A":"way"\}\)/s);
  });
});

describe('Jsonnet helper library', () => {
  const util = (expr: string, input: unknown = {}) => runJsonnet(expr, input);
  it('lookup_field walks objects and arrays with a default', () => {
    expect(util("$.util.lookup_field($.input, 'a.b.1.c')", { a: { b: [{}, { c: 3 }] } })).toBe(3);
    expect(util("$.util.lookup_field($.input, 'a.x', 'dflt')", { a: {} })).toBe('dflt');
    expect(util("$.util.lookup_field($.input, 'a.b')", { a: null })).toBeNull();
  });
  it('lookup_custom_field reads Field Nation’s two-level custom fields', () => {
    const input = {
      custom_fields: {
        results: [
          { id: 1, results: [{ id: 835, value: 'X-1' }] },
          { id: 2, results: [{ id: 9, value: null }] },
        ],
      },
    };
    expect(util("$.util.lookup_custom_field('835', $.input)", input)).toBe('X-1');
    expect(util("$.util.lookup_custom_field(9, $.input, 'none')", input)).toBe('none');
    expect(util("$.util.lookup_custom_field(1234, $.input, 'none')", {})).toBe('none');
  });
  it('array_map and range_map', () => {
    expect(util("$.util.array_map('High', [{compare: 'Low', value: 1}, {compare: 'High', value: 3}], 0)")).toBe(3);
    expect(util("$.util.array_map('Odd', [{compare: 'Low', value: 1}], 0)")).toBe(0);
    expect(util("$.util.range_map('7', [{max: 5, value: 'a'}, {min: 5, max: 10, value: 'b'}], 'z')")).toBe('b');
    expect(util("$.util.range_map(50, [{max: 5, value: 'a'}], 'z')")).toBe('z');
  });
  it('date_convert and date_add take moment-style formats and zones', () => {
    expect(util("$.util.date_convert('07/01/2026 09:00', 'MM/DD/YYYY HH:mm', 'YYYY-MM-DD HH:mm:ss', 'America/Chicago', 'UTC')")).toBe(
      '2026-07-01 14:00:00',
    );
    expect(util("$.util.date_convert('2026-07-01 14:00:00', 'YYYY-MM-DD HH:mm:ss', 'DD.MM.YYYY HH:mm', 'UTC', 'Europe/Berlin')")).toBe(
      '01.07.2026 16:00',
    );
    expect(util('$.util.date_convert(null)')).toBeNull();
    expect(util("$.util.date_add('2026-07-01 14:00:00', 2, 'day')")).toBe('2026-07-03 14:00:00');
    expect(() => util("$.util.date_convert('garbage', 'YYYY', 'YYYY')")).toThrow(/not a valid date/);
  });
  it('collections: array_sum, object_map_array, results_*, expenses', () => {
    const expenses = {
      results: [
        { amount: 10, status: 'approved' },
        { amount: 5, status: 'pending' },
        { amount: 2, approved: true },
      ],
    };
    expect(util('$.util.array_sum([1, 2, null, 3])')).toBe(6);
    expect(util('$.util.object_map_array({a: 1})')).toEqual([{ key: 'a', value: 1 }]);
    expect(util("$.util.results_values($.input, 'amount')", expenses)).toEqual([10, 5, 2]);
    expect(util("$.util.results_values_unique({results: [{k: 'b'}, {k: 'a'}, {k: 'b'}]}, 'k')")).toEqual(['a', 'b']);
    expect(util("std.objectFields($.util.results_group_by($.input, 'status'))", expenses)).toEqual(['approved', 'pending']);
    expect(util('$.util.sum_expense_field($.input)', expenses)).toBe(12);
    expect(util("$.util.sum_expense_field($.input, 'amount', false)", expenses)).toBe(17);
  });
  it('the std library is available', () => {
    expect(util("std.join('-', ['a', 'b'])")).toBe('a-b');
  });
});
