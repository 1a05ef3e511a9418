import { describe, expect, it } from 'vitest';
import { issuesOf } from './mapping-test-kit';
import { isEmpty } from './empty';
import { compileMapping } from './mapping-compiler';

const compile = (fields: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  compileMapping({ object: 'Case', fields, ...extra }, { targets: 'unchecked' });

/** Every UTF-16 code unit that JavaScript counts as whitespace (what trim() removes). */
const UNICODE_SPACES = Array.from({ length: 0x10000 }, (_, c) => String.fromCharCode(c)).filter(
  (ch) => ch.charCodeAt(0) > 32 && /^\s$/.test(ch),
);

describe('whitespace-only text is empty, whatever the whitespace', () => {
  it('isEmpty agrees with trim() on every code unit', () => {
    const disagree: string[] = [];
    for (let c = 0; c < 0x10000; c++) {
      const ch = String.fromCharCode(c);
      // C0 controls are empty too (trim keeps some of them); nothing else differs from trim.
      if (isEmpty(ch + ch) !== (c <= 32 || ch.trim() === '')) disagree.push(c.toString(16));
    }
    expect(disagree).toEqual([]);
    expect(UNICODE_SPACES).toContain('\u00a0');
    expect(UNICODE_SPACES.length).toBeGreaterThan(15);
  });

  // A plain `from:` takes the compiled fast path; top-level, nested and custom-field entries each
  // have their own copy of it, and each must send the value through the empty policy.
  const required = compile(
    { a: { from: 'V', required: true }, 'b.c': { fields: { d: { from: 'V', required: true } } } },
    { customFields: { '5': { from: 'V', required: true } } },
  );

  it.each(UNICODE_SPACES.map((ch) => [ch.charCodeAt(0).toString(16).padStart(4, '0'), ch]))(
    'U+%s only fails required (fast path)',
    (_, ch) => {
      expect(issuesOf(() => required.mapSync!({ V: ch + ch }))).toEqual([
        'a: required value is missing: the value is empty',
        'b.c.d: required value is missing: the value is empty',
        'custom_fields.5: required value is missing: the value is empty',
      ]);
    },
  );

  it('non-breaking spaces follow onEmpty, default and when', () => {
    const nbsp = '\u00a0\u00a0';
    const m = compile({
      omitted: 'V',
      nulled: { from: 'V', onEmpty: 'null' },
      defaulted: { from: 'V', default: 'd' },
      kept: { from: 'V', onEmpty: 'keep' },
      guarded: { from: 'X', when: 'V' },
    });
    expect(m.mapSync!({ V: nbsp, X: 'x' })).toEqual({ nulled: null, defaulted: 'd', kept: nbsp });
    expect(m.mapSync!({ V: '\u3000', X: 'x' })).toEqual({ nulled: null, defaulted: 'd', kept: '\u3000' });
  });

  it('text that merely starts with non-ASCII is copied unchanged', () => {
    const m = compile({ a: { from: 'V', required: true }, 'b.c': { fields: { d: 'V' } } }, { customFields: { '5': 'V' } });
    for (const v of ['\u00a0x', 'Ärger', 'é', '日本', '\u2003 A', '😀']) {
      expect(m.mapSync!({ V: v })).toEqual({ a: v, b: { c: { d: v } }, custom_fields: { results: [{ results: [{ id: 5, value: v }] }] } });
    }
  });
});
