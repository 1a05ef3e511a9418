import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { compileMapping, MappingError } from '@broker/mapping';
import { workspaceRoot } from '../../../vitest.shared';
import { entryOf, mappingOfRows, rowIssueOf, rowsOfMapping, type MappingRow } from '../src/mapping-rows';

const MAPPINGS = path.join(workspaceRoot, 'config/mappings');
const mappingFiles = readdirSync(MAPPINGS).filter((f) => f.endsWith('to-work-order.yaml'));

describe('mapping editor rows', () => {
  it.each(mappingFiles)('loads %s into rows and writes back the same mapping (comments aside)', (file) => {
    const text = readFileSync(path.join(MAPPINGS, file), 'utf8');
    const { object, rows } = rowsOfMapping(text);
    const { text: out, issues } = mappingOfRows(object!, rows, text);
    expect(issues).toEqual([]);
    expect(parseYaml(out)).toEqual(parseYaml(text));
    // Every action but YAML is used by the example mappings, so the rows are not all opaque.
    expect(new Set(rows.map((r) => r.action)).size).toBeGreaterThan(2);
  });

  it.each(mappingFiles)('keeps every comment of %s when the rows are saved unchanged', (file) => {
    const text = readFileSync(path.join(MAPPINGS, file), 'utf8');
    const { object, rows } = rowsOfMapping(text);
    const out = mappingOfRows(object!, rows, text).text;
    const comments = (t: string) => t.split('\n').flatMap((line) => /(?:^|\s)(#.*)$/.exec(line)?.[1] ?? []);
    expect(comments(text).length).toBeGreaterThan(0);
    expect(comments(out)).toEqual(comments(text));
  });

  it('keeps the comments of what a save did not change, and the key comment of an entry it changed', () => {
    const text = [
      '# Header: who owns this mapping.',
      'object: Case',
      'fields:',
      '  # The title the technician sees.',
      '  title: Subject # inline note',
      '  # Rewritten below.',
      '  description.html: Description',
      '  # Dropped below.',
      '  location.city: Account.BillingCity',
      'customFields:',
      '  # Priority for the dispatcher.',
      '  "606": Priority',
      '',
    ].join('\n');
    const { rows } = rowsOfMapping(text);
    const edited = rows
      .filter((r) => r.target !== 'location.city')
      .map((r) => (r.target === 'description.html' ? { ...r, source: 'Comments__c' } : r));
    edited.push({ target: 'location.state', action: 'from', source: 'Account.BillingState', options: '', required: false });
    const { text: out, issues } = mappingOfRows('Case', edited, text);
    expect(issues).toEqual([]);
    expect(parseYaml(out)).toEqual({
      object: 'Case',
      fields: { title: 'Subject', 'description.html': 'Comments__c', 'location.state': 'Account.BillingState' },
      customFields: { '606': 'Priority' },
    });
    for (const kept of [
      '# Header: who owns this mapping.',
      '# The title the technician sees.',
      '# inline note',
      '# Rewritten below.',
      '# Priority for the dispatcher.',
    ])
      expect(out).toContain(kept);
    expect(out).not.toContain('# Dropped below.');
    // A mapping with no custom field rows left has no customFields key.
    const noCustom = mappingOfRows(
      'Case',
      edited.filter((r) => !r.target.startsWith('customFields.')),
      text,
    ).text;
    expect(parseYaml(noCustom)).not.toHaveProperty('customFields');
  });

  it('replaces a previous file that is not YAML, or not a mapping, with what the rows make', () => {
    const rows: MappingRow[] = [{ target: 'title', action: 'from', source: 'Subject', options: '', required: false }];
    for (const previous of ['fields: [', 'just text', '- a\n- b', 'object: Case\nfields: null\n'])
      expect(parseYaml(mappingOfRows('Case', rows, previous).text), previous).toEqual({ object: 'Case', fields: { title: 'Subject' } });
  });

  it('turns each action into the entry docs/mapping.md describes', () => {
    const r = (action: MappingRow['action'], source: string, options = '', required = false): MappingRow => ({
      target: 't',
      action,
      source,
      options,
      required,
    });
    expect(entryOf(r('from', 'Account.Name'))).toBe('Account.Name');
    expect(entryOf(r('from', 'Name', '[trim, upper]', true))).toEqual({ from: 'Name', transform: ['trim', 'upper'], required: true });
    expect(entryOf(r('value', '', '150'))).toEqual({ value: 150 });
    expect(entryOf(r('map', 'Priority', '{ High: 1 }'))).toEqual({ from: 'Priority', transform: [{ map: { High: 1 } }] });
    expect(entryOf(r('range', 'Amount', '[{ max: 2, value: low }]'))).toEqual({
      from: 'Amount',
      transform: [{ range: [{ max: 2, value: 'low' }] }],
    });
    expect(entryOf(r('date', 'D__c'))).toEqual({ from: 'D__c', transform: [{ date: { to: 'fn' } }] });
    expect(entryOf(r('concat', 'A, B', ' - '))).toEqual({ concat: { parts: ['A', 'B'], separator: ' - ' } });
    expect(entryOf(r('template', '', 'Case {{CaseNumber}}'))).toEqual({ template: 'Case {{CaseNumber}}' });
    expect(entryOf(r('jsonata', 'A, B', 'A & B'))).toEqual({ jsonata: 'A & B', reads: ['A', 'B'] });
    expect(entryOf(r('jsonnet', 'A', '$.input.A'))).toEqual({ jsonnet: '$.input.A', reads: ['A'] });
  });

  it('names the row and the input at fault: bad YAML, a missing source, a target twice, a misspelt target', () => {
    const rows: MappingRow[] = [
      { target: 'title', action: 'template', source: '', options: 'x {{Name}}', required: true },
      { target: 'pay.base.amount', action: 'map', source: 'Priority', options: '{ High: [', required: false },
      { target: 'pay.type', action: 'from', source: '', options: '', required: false },
      { target: 'title', action: 'value', source: '', options: 'again', required: false },
      { target: 'locaton.city', action: 'from', source: 'City__c', options: '', required: false },
      { target: '', action: 'from', source: '', options: '', required: false },
    ];
    const { text, issues } = mappingOfRows('Case', rows);
    expect(issues.map((i) => [i.row, i.part])).toEqual([
      [1, 'options'],
      [2, 'source'],
      [3, 'target'],
    ]);
    let compileIssues: MappingError['issues'] = [];
    try {
      compileMapping(text, { file: 'm' });
    } catch (err) {
      compileIssues = (err as MappingError).issues;
    }
    const located = compileIssues.map((i) => rowIssueOf(i, rows));
    expect(located).toContainEqual(expect.objectContaining({ row: 4, part: 'target', message: expect.stringContaining('did you mean') }));
  });
});
