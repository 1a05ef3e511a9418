import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEventRulesFile, loadMappingFile, MappingError, minimalUpdate, payloadHash } from '@broker/mapping';

const root = path.resolve(import.meta.dirname, '../../..');
const fixtures = path.join(import.meta.dirname, 'fixtures');
const mappingFile = path.join(root, 'config/mappings/case-to-work-order.yaml');
const eventsFile = path.join(root, 'config/mappings/case-events.yaml');

interface Fixture {
  name: string;
  description?: string;
  record?: Record<string, unknown>;
  payload?: Record<string, unknown>;
  errors?: unknown[];
  body?: unknown;
  changes?: unknown;
}

const load = (dir: string): Fixture[] =>
  readdirSync(path.join(fixtures, dir))
    .filter((f) => f.endsWith('.json'))
    .map((f) => ({
      name: f.replace(/\.json$/, ''),
      ...(JSON.parse(readFileSync(path.join(fixtures, dir, f), 'utf8')) as Omit<Fixture, 'name'>),
    }));

describe('config/mappings/case-to-work-order.yaml', () => {
  const mapping = loadMappingFile(mappingFile);

  it('is declarative, synchronous, and reads exactly the fields it maps', () => {
    expect(mapping.object).toBe('Case');
    expect(mapping.hasExpressions).toBe(false);
    expect(mapping.mapSync).toBeTypeOf('function');
    expect(mapping.reads).toEqual([
      'Account.BillingCity',
      'Account.BillingCountry',
      'Account.BillingPostalCode',
      'Account.BillingState',
      'Account.BillingStreet',
      'Account.Name',
      'Account.Owner.Email',
      'Account.Owner.Manager.Email',
      'Account.Owner.Manager.Name',
      'Account.Owner.Name',
      'CaseNumber',
      'Contact.Email',
      'Contact.FirstName',
      'Contact.LastName',
      'Contact.Phone',
      'Description',
      'Id',
      'Preferred_Service_Date__c',
      'Priority',
      'Subject',
      'Work_Type__c',
    ]);
    expect(mapping.createOnly).toEqual(['custom_fields.606']);
    expect(mapping.writes).toContain('schedule.service_window.start.utc');
  });

  for (const fixture of load('cases')) {
    it(`${fixture.name}: ${fixture.description ?? ''}`, async () => {
      const record = fixture.record as Record<string, unknown>;
      if (fixture.payload) {
        expect(mapping.mapSync!(record)).toEqual(fixture.payload);
        await expect(mapping.map(record)).resolves.toEqual(fixture.payload);
      } else {
        let error: unknown;
        try {
          mapping.mapSync!(record);
        } catch (err) {
          error = err;
        }
        expect(error).toBeInstanceOf(MappingError);
        expect((error as MappingError).issues).toEqual(fixture.errors);
        expect((error as MappingError).message).toContain(mappingFile);
      }
    });
  }

  it('an update after a priority change touches only pay, schedule and on-time, never the create-only id', () => {
    const full = load('cases').find((f) => f.name === 'case-full')!;
    const record = structuredClone(full.record) as Record<string, unknown>;
    const before = mapping.mapSync!(record);
    record.Priority = 'Low';
    const after = mapping.mapSync!(record);
    expect(payloadHash(after)).not.toBe(payloadHash(before));
    expect(minimalUpdate(before, after, mapping.createOnly)).toEqual({
      schedule: after.schedule,
      require_ontime: false,
      pay: { type: 'fixed', base: { amount: 90, units: 1 } },
    });
    expect(minimalUpdate(after, mapping.mapSync!(record), mapping.createOnly)).toBeNull();
  });
});

describe('config/mappings/case-events.yaml', () => {
  const rules = loadEventRulesFile(eventsFile);

  for (const fixture of load('events')) {
    it(`${fixture.name}`, async () => {
      await expect(rules.apply(fixture.body as never)).resolves.toEqual(fixture.changes);
    });
  }

  it('Field_Nation_Status__c falls back to the status name for events without a label', async () => {
    const changes = await rules.apply({ event: { name: 'workorder.status.something_new' }, workorder: { status: { name: 'Assigned' } } });
    expect(changes?.fields).toEqual({ Field_Nation_Status__c: 'Assigned' });
  });
  it('a message without text makes no comment', async () => {
    await expect(
      rules.apply({ event: { name: 'workorder.message_posted', params: { message: { id: 1 } } }, workorder: { id: 1 } }),
    ).resolves.toBeNull();
  });
});
