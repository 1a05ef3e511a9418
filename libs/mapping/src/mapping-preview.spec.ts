import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEventRulesFile, loadMappingFile } from './mapping-loader';
import { previewMapping } from './mapping-preview';

const yaml = `object: Case
fields:
  title: { from: Subject, required: true }
  location.city: Account.BillingCity
`;

describe('previewMapping', () => {
  it('mapping text + record → payload and reads', async () => {
    await expect(previewMapping(yaml, { Subject: 'S', Account: { BillingCity: 'C' } })).resolves.toEqual({
      ok: true,
      payload: { title: 'S', location: { city: 'C' } },
      reads: ['Account.BillingCity', 'Subject'],
      writes: ['location.city', 'title'],
    });
  });
  it('a readable error list for mapping and record problems', async () => {
    await expect(previewMapping(yaml, {})).resolves.toEqual({
      ok: false,
      errors: ['title: required value is missing: Subject is missing'],
    });
    await expect(previewMapping('object: Case\nfields:\n  title: { nope: 1 }\n', {})).resolves.toMatchObject({
      ok: false,
      errors: [expect.stringMatching(/^title: .*nope/)],
    });
  });
  it('a path is read from disk and named in errors', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mapping-'));
    const file = path.join(dir, 'm.yaml');
    writeFileSync(file, yaml);
    await expect(previewMapping(file, { Subject: 'x' })).resolves.toMatchObject({ ok: true, payload: { title: 'x' } });
    await expect(previewMapping(file, {})).resolves.toEqual({
      ok: false,
      errors: [`${file}: title: required value is missing: Subject is missing`],
    });
    await expect(previewMapping(path.join(dir, 'missing.yaml'), {})).resolves.toEqual({
      ok: false,
      errors: [`${path.join(dir, 'missing.yaml')}: (file): cannot read: ENOENT`],
    });
  });
  it('loaders name the file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mapping-'));
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, 'object: Case\nfields:\n  t: A..B\n');
    expect(() => loadMappingFile(file)).toThrow(`${file}: t: from: "A..B" is not a Salesforce field path`);
  });
  it('loads event rules', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mapping-'));
    const file = path.join(dir, 'e.yaml');
    writeFileSync(file, 'object: Case\nrules:\n  - on: workorder.status.*\n    fields: { A__c: workorder.status.name }\n');
    expect(loadEventRulesFile(file)).toMatchObject({ object: 'Case', file });
  });
});
