import { describe, expect, it } from 'vitest';
import { compileMapping } from './mapping-compiler';
import { MappingError } from './mapping-types';

/** Map `{ v: value }` through one entry `out ← v` with the given transform steps. */
function run(transform: unknown[], value: unknown, record: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  const m = compileMapping({ object: 'Case', fields: { out: { from: 'V', transform, ...extra } } }, { targets: 'unchecked' });
  return m.mapSync!({ V: value, ...record }).out;
}

function failure(transform: unknown[], value: unknown): MappingError {
  try {
    run(transform, value);
  } catch (err) {
    return err as MappingError;
  }
  throw new Error('expected a MappingError');
}

function compileError(transform: unknown[]): string {
  try {
    compileMapping({ object: 'Case', fields: { out: { from: 'V', transform } } }, { file: 'm.yaml', targets: 'unchecked' });
  } catch (err) {
    expect(err).toBeInstanceOf(MappingError);
    return (err as Error).message;
  }
  throw new Error('expected a compile error');
}

describe('string transforms', () => {
  it('trim, upper, lower, prefix, suffix, replace', () => {
    expect(run(['trim'], '  a b  ')).toBe('a b');
    expect(run(['upper'], 'mn')).toBe('MN');
    expect(run(['lower'], 'MN')).toBe('mn');
    expect(run([{ prefix: 'SF-' }, { suffix: '!' }], 'x')).toBe('SF-x!');
    expect(run([{ replace: { pattern: '\\s+', with: ' ' } }], 'a  \n b')).toBe('a b');
    expect(run([{ replace: { pattern: 'A', with: 'b', flags: 'gi' } }], 'aAa')).toBe('bbb');
  });
  it('maxLength cuts on characters, with an optional ellipsis', () => {
    expect(run([{ maxLength: 3 }], 'abcdef')).toBe('abc');
    expect(run([{ maxLength: 4, ellipsis: '…' }], 'abcdef')).toBe('abc…');
    expect(run([{ maxLength: 2 }], '😀😀😀')).toBe('😀😀');
    expect(run([{ maxLength: 10 }], 'short')).toBe('short');
  });
  it('html escapes and keeps line breaks', () => {
    expect(run(['html'], 'a < b & "c"\nd')).toBe('a &lt; b &amp; &quot;c&quot;<br>d');
    // Against the plain regular-expression definition, over strings dense in special characters.
    const reference = (t: string) =>
      t.replace(/[&<>"]|\r?\n/g, (m) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[m] ?? '<br>');
    const alphabet = ['&', '<', '>', '"', '\n', '\r', '\r\n', 'a', ' ', 'é', '😀', '=', '?'];
    let seed = 3;
    for (let i = 0; i < 3000; i++) {
      let t = 'x';
      for (let n = i % 12; n > 0; n--) t += alphabet[(seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % alphabet.length];
      expect(run(['html'], t)).toBe(reference(t));
    }
  });
  it('string turns numbers and objects into text', () => {
    expect(run(['string'], 12)).toBe('12');
    expect(run(['string'], { a: 1 }, {}, { onEmpty: 'keep' })).toBe('{"a":1}');
  });
  it('split, join, compact and each work on lists (multi-select picklists)', () => {
    expect(run([{ split: ';' }], 'A; B;;C')).toEqual(['A', 'B', 'C']);
    expect(run([{ split: ';' }, { join: ', ' }], 'A;B')).toBe('A, B');
    expect(run([{ split: ';' }, { each: ['lower', { prefix: '#' }] }], 'A;B')).toEqual(['#a', '#b']);
    expect(run(['compact'], ['a', null, '', 'b'])).toEqual(['a', 'b']);
  });
  it('rejects an invalid pattern at compile time', () => {
    expect(compileError([{ replace: { pattern: '(', with: '' } }])).toMatch(/m\.yaml: out: transform\[0\]: invalid pattern/);
  });
});

describe('numbers and currency', () => {
  it('number parses text with currency symbols and separators', () => {
    expect(run(['number'], '$1,234.50')).toBe(1234.5);
    expect(run(['integer'], '12.6')).toBe(13);
    expect(run(['currency'], 10.005 + 0.001)).toBe(10.01);
    expect(run([{ round: 1 }], 2.345)).toBe(2.3);
    expect(run(['number', { multiply: 1.5 }, { add: 10 }], '100')).toBe(160);
    expect(run([{ clamp: { min: 50, max: 200 } }], 10)).toBe(50);
    expect(run([{ clamp: { min: 50, max: 200 } }], 500)).toBe(200);
  });
  it('a non-number fails with the input shown', () => {
    const err = failure(['number'], 'abc');
    expect(err.issues).toEqual([{ target: 'out', message: 'not a number', input: 'abc' }]);
    expect(err.message).toContain('(input: "abc")');
  });
  it('boolean understands yes/no words', () => {
    expect(run(['boolean'], 'Yes')).toBe(true);
    expect(run(['boolean'], 0)).toBe(false);
    expect(run(['boolean'], 'off')).toBe(false);
    expect(failure(['boolean'], 'maybe').issues[0]!.message).toMatch(/yes\/no/);
  });
});

describe('value maps', () => {
  it('maps picklist values to enums or ids', () => {
    expect(run([{ map: { High: 'exact', Low: 'between' } }], 'High')).toBe('exact');
    expect(run([{ map: { High: 62 } }], 'High')).toBe(62);
    expect(run([{ map: { true: 'Y', false: 'N' } }], false)).toBe('N');
  });
  it('fallback rules: fail (default), keep, null, a number, {value}, {from}', () => {
    expect(failure([{ map: { High: 1 } }], 'Odd').issues[0]).toEqual({
      target: 'out',
      message: 'no value-map entry for this value and no fallback',
      input: 'Odd',
    });
    expect(run([{ map: { High: 1 }, fallback: 'keep' }], 'Odd')).toBe('Odd');
    expect(run([{ map: { High: 1 }, fallback: null }], 'Odd', {}, { onNull: 'null' })).toBeNull();
    expect(run([{ map: { High: 1 }, fallback: 'null' }], 'Odd', {}, { default: 7 })).toBe(7);
    expect(run([{ map: { High: 1 }, fallback: 5 }], 'Odd')).toBe(5);
    expect(run([{ map: { High: 1 }, fallback: { value: 'other' } }], 'Odd')).toBe('other');
    expect(run([{ map: { High: 1 }, fallback: { from: 'Alt' } }], 'Odd', { Alt: 'alt' })).toBe('alt');
  });
  it('a text fallback must be spelled { value: ... }', () => {
    expect(compileError([{ map: { a: 1 }, fallback: 'other' }])).toMatch(/fallback must be .*\{ value: "other" \}/);
  });
  it('ignoreCase and element-wise mapping of lists', () => {
    expect(run([{ map: { high: 1 }, ignoreCase: true }], 'HIGH')).toBe(1);
    expect(run([{ split: ';' }, { map: { A: 62, B: 93 } }], 'A;B')).toEqual([62, 93]);
  });
  it('a mapped null is handled by the null policy', () => {
    expect(run([{ map: { A: null } }], 'A', {}, { default: 'd' })).toBe('d');
  });
});

describe('range maps', () => {
  const ranges = [
    { max: 2, value: 'low' },
    { min: 2, max: 5, value: 'mid' },
    { min: 5, value: 'high' },
  ];
  it('min inclusive, max exclusive, open ends', () => {
    expect(run([{ range: ranges }], 1.99)).toBe('low');
    expect(run([{ range: ranges }], 2)).toBe('mid');
    expect(run([{ range: ranges }], '5')).toBe('high');
  });
  it('fallback and validation', () => {
    expect(run([{ range: [{ min: 0, max: 1, value: 'x' }], fallback: { value: 'none' } }], 3)).toBe('none');
    expect(failure([{ range: [{ min: 0, max: 1, value: 'x' }] }], 3).issues[0]!.message).toMatch(/no range/);
    expect(compileError([{ range: [{ min: 3, max: 1, value: 'x' }] }])).toMatch(/min must be below max/);
  });
});

describe('types of work', () => {
  it('turns ids into the types_of_work list, the first one primary', () => {
    expect(run(['typesOfWork'], 62)).toEqual([{ id: 62, isPrimary: true }]);
    expect(run([{ split: ',' }, 'typesOfWork'], '62, 93')).toEqual([
      { id: 62, isPrimary: true },
      { id: 93, isPrimary: false },
    ]);
    expect(failure(['typesOfWork'], 'abc').issues[0]!.message).toMatch(/positive integer/);
  });
});

describe('date/time', () => {
  it('Salesforce datetime → Field Nation UTC format', () => {
    expect(run([{ date: {} }], '2026-07-01T09:30:15.000-0500')).toBe('2026-07-01 14:30:15');
    expect(run([{ date: { to: 'fn' } }], '2026-07-01T14:00:00.000+0000')).toBe('2026-07-01 14:00:00');
    expect(run([{ date: { to: 'iso' } }], '2026-07-01T09:00:00+02:00')).toBe('2026-07-01T07:00:00.000Z');
    expect(run([{ date: { to: 'date' } }], '2026-07-01T23:30:00-05:00')).toBe('2026-07-02');
  });
  it('date-only values at a time of day in a zone, fixed or from the record', () => {
    expect(run([{ date: { zone: 'America/Chicago', time: '09:00' } }], '2026-07-01')).toBe('2026-07-01 14:00:00');
    expect(
      run([{ date: { zone: 'America/Chicago', zoneFrom: 'Site_Time_Zone__c', time: '09:00' } }], '2026-01-15', {
        Site_Time_Zone__c: 'Europe/Berlin',
      }),
    ).toBe('2026-01-15 08:00:00');
    // An empty zone field falls back to the configured zone.
    expect(
      run([{ date: { zone: 'America/Chicago', zoneFrom: 'Site_Time_Zone__c', time: '09:00' } }], '2026-01-15', { Site_Time_Zone__c: null }),
    ).toBe('2026-01-15 15:00:00');
    expect(run([{ date: { zoneFrom: 'Z', time: '09:00' } }], '2026-01-15')).toBe('2026-01-15 09:00:00');
  });
  it('custom input and output formats, output zone, add', () => {
    expect(run([{ date: { format: 'MM/dd/yyyy HH:mm', zone: 'America/New_York' } }], '07/01/2026 10:00')).toBe('2026-07-01 14:00:00');
    expect(run([{ date: { to: 'dd.MM.yyyy HH:mm', toZone: 'Europe/Berlin' } }], '2026-07-01T14:00:00Z')).toBe('01.07.2026 16:00');
    expect(run([{ date: { add: { hours: 8 } } }], '2026-07-01T20:00:00Z')).toBe('2026-07-02 04:00:00');
    expect(run([{ date: { to: 'epoch' } }], '2026-07-01T00:00:00Z')).toBe(Date.UTC(2026, 6, 1));
    expect(run([{ date: {} }], Date.UTC(2026, 6, 1))).toBe('2026-07-01 00:00:00');
    expect(run([{ date: { to: 'iso' } }], { utc: '2026-07-01 14:00:00', local: {} })).toBe('2026-07-01T14:00:00.000Z');
  });
  it('invalid dates and zones', () => {
    expect(failure([{ date: {} }], 'next tuesday').issues[0]!.message).toMatch(/not a valid date/);
    expect(compileError([{ date: { zone: 'Mars/Olympus' } }])).toMatch(/unknown time zone "Mars\/Olympus"/);
    const e = (() => {
      try {
        run([{ date: { zoneFrom: 'Z', time: '09:00' } }], '2026-01-15', { Z: 'Nowhere/Land' });
      } catch (err) {
        return err as MappingError;
      }
    })();
    expect(e?.issues[0]).toMatchObject({ target: 'out', message: 'unknown time zone "Nowhere/Land"' });
  });
});

describe('transform validation', () => {
  it('names unknown transforms and bad options', () => {
    expect(compileError(['shout'])).toMatch(/unknown transform "shout"/);
    expect(compileError([{ maxLength: -1 }])).toMatch(/transform\[0\] \(maxLength\)/);
    expect(compileError([{ frobnicate: 1 }])).toMatch(/unknown transform/);
  });
});
