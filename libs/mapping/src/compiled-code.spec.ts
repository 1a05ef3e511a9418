// The compiled (generated) code paths against straightforward reference behaviour: getters, static
import { issuesOf } from './mapping-test-kit';
// values, templates and concatenations, and the empty checks the compiler leaves out.
import { describe, expect, it } from 'vitest';
import { isEmpty } from './empty';
import { makeGetter } from './field-path';
import { compileMapping } from './mapping-compiler';
import { compileSteps, keepsNonBlank } from './transforms';

const compile = (fields: Record<string, unknown>) => compileMapping({ object: 'Case', fields }, { targets: 'unchecked' });

describe('generated getters', () => {
  it('read null for missing, null and non-object parents', () => {
    const get = makeGetter('Account.Owner.Email');
    expect(get({ Account: { Owner: { Email: 'e' } } })).toBe('e');
    expect(get({ Account: { Owner: {} } })).toBeNull();
    expect(get({ Account: null })).toBeNull();
    expect(get({ Account: 'text' })).toBeNull();
    expect(get({ Account: { Owner: 7 } })).toBeNull();
    expect(get({})).toBeNull();
  });
  it('take data paths with indexes and any key text literally', () => {
    expect(makeGetter('a.0.b')({ a: [{ b: 1 }] })).toBe(1);
    expect(makeGetter('x-y.$z')({ 'x-y': { $z: 2 } })).toBe(2);
    // Keys are quoted into the generated code, never spliced in as code.
    const odd = 'a"]; throw new Error("injected"); //';
    expect(makeGetter(odd)({ [odd]: 3 })).toBe(3);
    expect(makeGetter("a'b\\c\u2028")({ "a'b\\c\u2028": 4 })).toBe(4);
  });
});

describe('static values', () => {
  it('settle their policy once, except where every record must report it', () => {
    const m = compile({
      a: { value: null, onNull: 'null' },
      b: { value: '  ', default: 'd' },
      c: { value: '', onEmpty: 'keep' },
      d: { value: null },
      e: { value: 0 },
      f: { value: false },
    });
    expect(m.mapSync!({})).toEqual({ a: null, b: 'd', c: '', e: 0, f: false });
    const required = compile({ a: { value: null, required: true }, b: { value: ' ', onEmpty: 'fail' } });
    for (let i = 0; i < 3; i++) {
      expect(issuesOf(() => required.mapSync!({}))).toEqual([
        'a: required value is missing: the static value is null',
        'b: required value is missing: the value is empty',
      ]);
    }
  });
  it('are the same frozen value in every payload', () => {
    const m = compile({ 'location.type': { value: { id: 1 } } });
    const [x, y] = [m.mapSync!({}), m.mapSync!({})] as { location: { type: unknown } }[];
    expect(x!.location.type).toBe(y!.location.type);
    expect(Object.isFrozen(x!.location.type)).toBe(true);
  });
});

describe('templates and concatenations', () => {
  it('apply the empty policy unless a visible literal or part went in', () => {
    const lenientFields = {
      t2: { template: ' {{A}} ', onEmpty: 'null' },
      t3: { template: '-{{A}}' },
      c1: { concat: { parts: ['A', 'B'], separator: ' ' }, onEmpty: 'null' },
      c2: { concat: { parts: ['A', { value: ' ' }, 'B'] }, onEmpty: 'null' },
      c3: { concat: { parts: ['A', { value: '-' }, 'B'] }, onEmpty: 'null' },
      c4: { concat: { parts: [{ value: null }, 'A', { value: '' }] }, onEmpty: 'null' },
    };
    const m = compile({ t1: { template: '{{A}}{{B}}', required: true }, ...lenientFields });
    for (const blank of ['', ' ', '\u00a0', '\u3000\t']) {
      expect(issuesOf(() => m.mapSync!({ A: blank, B: blank }))).toEqual(['t1: required value is missing: the value is empty']);
    }
    const lenient = compile(lenientFields);
    expect(lenient.mapSync!({ A: '\u00a0', B: ' ' })).toEqual({ t2: null, t3: '-\u00a0', c1: null, c2: null, c3: '\u00a0- ', c4: null });
    expect(lenient.mapSync!({ A: 'x', B: 7 })).toEqual({ t2: ' x ', t3: '-x', c1: 'x 7', c2: 'x 7', c3: 'x-7', c4: 'x' });
    expect(lenient.mapSync!({ A: '\u00a0y', B: null })).toEqual({
      t2: ' \u00a0y ',
      t3: '-\u00a0y',
      c1: '\u00a0y',
      c2: '\u00a0y ',
      c3: '\u00a0y-',
      c4: '\u00a0y',
    });
    expect(lenient.mapSync!({ A: { k: 1 }, B: true })).toEqual({
      t2: ' {"k":1} ',
      t3: '-{"k":1}',
      c1: '[object Object] true',
      c2: '[object Object] true',
      c3: '[object Object]-true',
      c4: '[object Object]',
    });
  });
});

describe('failures inside generated code', () => {
  it('a template that cannot render its input reports the entry', () => {
    const m = compile({ t: { template: 'x {{A}}' }, u: 'B' });
    expect(issuesOf(() => m.mapSync!({ A: { n: 1n }, B: 'b' }))).toEqual(['t: Do not know how to serialize a BigInt']);
  });
});

describe('keepsNonBlank: the empty check after these steps is left out', () => {
  const STEPS: unknown[] = [
    'trim',
    'upper',
    'lower',
    'string',
    'html',
    'number',
    'integer',
    'currency',
    'boolean',
    'compact',
    { maxLength: 2 },
    { maxLength: 2, ellipsis: '…' },
    { maxLength: 3, ellipsis: ' ' },
    { prefix: 'SF-' },
    { prefix: ' ' },
    { suffix: '!' },
    { replace: { pattern: 'x', with: ' ' } },
    { round: 1 },
    { date: { to: 'fn' } },
    { map: { a: ' ' }, fallback: 'keep' },
  ];
  const VALUES: unknown[] = [
    'x',
    '  x',
    'x  ',
    '\u00a0\u00a0x',
    ' a\nb ',
    'ab  ',
    '1',
    ' 2 ',
    'yes',
    'a',
    7,
    0,
    true,
    false,
    [' '],
    ['a'],
    [null],
    { k: ' ' },
    '2026-07-01T08:00:00Z',
  ];

  it('holds for every combination of up to three steps over non-empty values', () => {
    const ctx = { kind: 'salesforce' as const, reads: new Set<string>(), issues: [], target: 't' };
    let checked = 0;
    const lists: unknown[][] = [];
    for (const a of STEPS) {
      lists.push([a]);
      for (const b of STEPS) {
        lists.push([a, b]);
        for (const c of ['trim', 'html', { maxLength: 2, ellipsis: '…' }, 'upper']) lists.push([a, b, c]);
      }
    }
    for (const steps of lists) {
      const fn = compileSteps(steps, ctx)!;
      for (const scalar of [true, false]) {
        if (!keepsNonBlank(steps, scalar)) continue;
        for (const v of VALUES) {
          if (isEmpty(v) || (scalar && typeof v === 'object')) continue;
          let out: unknown;
          try {
            out = fn(v, {});
          } catch {
            continue; // a failing step reports itself
          }
          checked++;
          expect([steps, v, out, out == null || !isEmpty(out)]).toEqual([steps, v, out, true]);
        }
      }
    }
    expect(ctx.issues).toEqual([]);
    expect(checked).toBeGreaterThan(5000);
  });

  it('is false where a step can empty a value', () => {
    expect(keepsNonBlank([{ maxLength: 2 }], true)).toBe(false);
    expect(keepsNonBlank([{ replace: { pattern: 'x', with: '' } }], true)).toBe(false);
    expect(keepsNonBlank(['html'], false)).toBe(false);
    expect(keepsNonBlank(['string', 'html'], false)).toBe(true);
    expect(keepsNonBlank([{ prefix: ' ' }], true)).toBe(false);
    expect(keepsNonBlank(['trim', 'html'], true)).toBe(true);
  });

  it('an entry whose steps may empty the value still gets its empty policy', () => {
    const m = compile({
      a: { from: 'A', transform: [{ maxLength: 1 }], onEmpty: 'null' },
      b: { from: 'A', transform: ['trim', 'html'], onEmpty: 'null' },
    });
    expect(m.mapSync!({ A: ' x' })).toEqual({ a: null, b: 'x' });
  });
});
