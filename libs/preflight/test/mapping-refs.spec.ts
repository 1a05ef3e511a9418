import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '@broker/config';
import { fieldNationRefs } from '../src/mapping-refs';

const dir = mkdtempSync(path.join(os.tmpdir(), 'preflight-refs-'));

function refsOf(mapping: string, objectExtra = '') {
  writeFileSync(path.join(dir, 'm.yaml'), mapping);
  const config = parseConfig(
    `connections:
  - id: c
    salesforce: { organizationId: 00D000000000001AAA, pathToken: tEsT-pAtH-t0ken_0123456789abcdef, auth: { flow: password, username: u, password: p } }
    fieldnation: { auth: { clientId: c, clientSecret: s, username: u, password: p }, webhookSecret: 2c9e7f1a-4b6d-4e8f-a1b3-c5d7e9f1a3b5 }
    objects:
      Case: { mapping: m.yaml${objectExtra} }
`,
    path.join(dir, 'broker.yaml'),
    {},
  );
  const refs = fieldNationRefs(config, config.connections[0]!);
  const ids = Object.fromEntries(Object.entries(refs.ids).map(([k, m]) => [k, [...m.keys()].sort((a, b) => a - b)]));
  return { ids, dynamic: refs.dynamic.map((d) => `${d.kind} ${d.where}`) };
}

describe('fieldNationRefs: the Field Nation ids a mapping names', () => {
  it('reads value maps, fallbacks, defaults, nested fields and lists; custom fields and the correlation field', () => {
    const { ids, dynamic } = refsOf(
      `object: Case
fields:
  title: Subject
  types_of_work:
    from: Work_Type__c
    transform: [{ map: { A: 62, B: "45" }, fallback: { value: 27 } }, typesOfWork]
    default: [{ id: 11, isPrimary: true }]
  template: { fields: { id: { value: 433 } } }
  project.id: { value: 55 }
  location.type.id: { value: 1 }
customFields:
  "606": Id
`,
      ', correlation: { customFieldId: 608 }',
    );
    expect(ids).toEqual({ typesOfWork: [11, 27, 45, 62], customFields: [606, 608], templates: [433], projects: [55] });
    expect(dynamic).toEqual([]);
  });

  it('flags ids taken from Salesforce data (no map, or a keep fallback) and list items', () => {
    const { ids, dynamic } = refsOf(`object: Case
fields:
  title: Subject
  types_of_work:
    list:
      - { fields: { id: { value: 93 } } }
      - { fields: { id: Secondary_Type__c } }
  project.id: { from: Project__c, transform: [{ map: { X: 56 }, fallback: keep }] }
`);
    expect(ids.typesOfWork).toEqual([93]);
    expect(ids.projects).toEqual([56]);
    expect(dynamic).toEqual(['typesOfWork m.yaml: types_of_work[].id', 'projects m.yaml: project.id']);
  });
});
