import { describe, expect, it } from 'vitest';
import { compileEventRules } from './event-rules';
import { MappingError, type FieldNationWebhookBody } from './mapping-types';
import { utf8Length } from './utf8';

const body = (name: string, extra: Partial<FieldNationWebhookBody> = {}, params: Record<string, unknown> = {}): FieldNationWebhookBody => ({
  event: { name, params: { work_order_id: 12345, ...params } },
  timestamp: '2026-01-20T08:55:58-06:00',
  triggered_by_user: { id: 1068 },
  workorder: {
    id: 12345,
    title: 'WO',
    status: { id: 3, name: 'Assigned' },
    assignee: { user: { id: 7, first_name: 'Ana', last_name: 'Tech' } },
  },
  ...extra,
});

const compileError = (source: object) => {
  try {
    compileEventRules(source, { file: 'events.yaml' });
  } catch (err) {
    expect(err).toBeInstanceOf(MappingError);
    return (err as Error).message;
  }
  throw new Error('expected a compile error');
};

describe('event rules', () => {
  const rules = compileEventRules(
    {
      object: 'Case',
      statusFields: ['Status', 'Field_Nation_Status__c'],
      rules: [
        { name: 'status', on: 'workorder.status.*', fields: { Field_Nation_Status__c: 'workorder.status.name' } },
        {
          name: 'assigned',
          on: 'workorder.status.assigned',
          fields: {
            Status: { value: 'Technician Assigned' },
            Technician_Name__c: {
              concat: { parts: ['workorder.assignee.user.first_name', 'workorder.assignee.user.last_name'], separator: ' ' },
            },
          },
        },
        {
          name: 'status-map',
          on: ['workorder.status.work_done', 'workorder.status.approved'],
          fields: {
            Status: {
              from: 'event.name',
              transform: [{ map: { 'workorder.status.work_done': 'Work Completed', 'workorder.status.approved': 'Resolved' } }],
            },
          },
          comment: { template: 'Done by {{workorder.assignee.user.first_name}}: {{workorder.closing_notes}}' },
        },
        {
          name: 'vip',
          on: 'workorder.status.approved',
          when: { 'workorder.priority': { in: ['vip', 'gold'] } },
          comment: { template: 'VIP approved', isPublished: true },
        },
        {
          name: 'message',
          on: 'workorder.message_posted',
          when: { 'event.params.message.message': { exists: true } },
          comment: { template: '{{event.params.message.message}}' },
          stop: true,
        },
        { name: 'never', on: 'workorder.message_posted', fields: { X__c: { value: 1 } } },
      ],
    },
    { file: 'events.yaml' },
  );

  it('applies every matching rule in order, with rank and status fields', async () => {
    await expect(rules.apply(body('workorder.status.assigned'))).resolves.toEqual({
      fields: { Field_Nation_Status__c: 'Assigned', Status: 'Technician Assigned', Technician_Name__c: 'Ana Tech' },
      statusRank: 40,
      statusFields: ['Field_Nation_Status__c', 'Status'],
      rules: ['status', 'assigned'],
    });
  });
  it('comments from templates; conditions; several comments join', async () => {
    const approved = body('workorder.status.approved', {
      workorder: { id: 1, status: { name: 'Approved' }, closing_notes: 'ok', priority: 'gold', assignee: { user: { first_name: 'Ana' } } },
    });
    const changes = await rules.apply(approved);
    expect(changes?.fields).toEqual({ Field_Nation_Status__c: 'Approved', Status: 'Resolved' });
    expect(changes?.comment).toEqual({ body: 'Done by Ana: ok\n\nVIP approved', isPublished: true });
    const plain = await rules.apply(
      body('workorder.status.approved', { workorder: { id: 1, status: { name: 'Approved' }, priority: 'normal' } }),
    );
    expect(plain?.comment).toEqual({ body: 'Done by :', isPublished: false });
  });
  it('null when no rule matches; a rule with a false condition does not match', async () => {
    await expect(rules.apply(body('workorder.tag_added'))).resolves.toBeNull();
    // The message rule's condition fails (no text), so evaluation goes on to the next rule.
    await expect(rules.apply(body('workorder.message_posted'))).resolves.toEqual({ fields: { X__c: 1 }, rules: ['never'] });
  });
  it('non-status events have no rank; stop ends the evaluation', async () => {
    const changes = await rules.apply(body('workorder.message_posted', {}, { message: { id: 5, message: 'On my way' } }));
    expect(changes).toEqual({ fields: {}, comment: { body: 'On my way', isPublished: false }, rules: ['message'] });
  });
  it('comment bodies are cut to 4,000 UTF-8 bytes', async () => {
    const long = '€'.repeat(3000);
    const changes = await rules.apply(body('workorder.message_posted', {}, { message: { message: long } }));
    expect(utf8Length(changes!.comment!.body)).toBeLessThanOrEqual(4000);
    expect(changes!.comment!.body).toMatch(/\[… truncated\]$/);
  });
  it('rule statusRank overrides the built-in rank; statusFields default to all fields', async () => {
    const r = compileEventRules({
      object: 'Case',
      rules: [
        { on: 'workorder.status.*', fields: { A__c: { value: 'x' } } },
        { on: 'workorder.custom_field_value_updated', statusRank: 5, fields: { B__c: { value: 1 } } },
      ],
    });
    await expect(r.apply(body('workorder.status.paid'))).resolves.toMatchObject({ statusRank: 100, statusFields: ['A__c'] });
    await expect(r.apply(body('workorder.custom_field_value_updated'))).resolves.toMatchObject({ statusRank: 5, statusFields: ['B__c'] });
    expect(r.events).toEqual(['workorder.status.*', 'workorder.custom_field_value_updated']);
  });
  it('conditions: equals, not, notIn, matches, ids as text or numbers', async () => {
    const r = compileEventRules({
      object: 'Case',
      rules: [
        {
          name: 'a',
          on: '*.*.*',
          when: { 'event.params.work_order_id': '12345', 'workorder.status.id': { not: 4 } },
          fields: { A__c: { value: 1 } },
        },
        {
          name: 'b',
          on: 'workorder.status.*',
          when: { 'workorder.status.name': { notIn: ['Draft'], matches: '^Ass' } },
          fields: { B__c: { value: 1 } },
        },
        { name: 'c', on: 'workorder.status.*', when: { 'workorder.status.name': { equals: 'Draft' } }, fields: { C__c: { value: 1 } } },
      ],
    });
    await expect(r.apply(body('workorder.status.assigned'))).resolves.toMatchObject({ fields: { A__c: 1, B__c: 1 } });
  });
  it('failures name the rule and field; object values are refused', async () => {
    const r = compileEventRules({
      object: 'Case',
      rules: [
        {
          name: 'x',
          on: 'workorder.status.*',
          fields: { Arrived__c: { from: 'timestamp', required: true, transform: [{ date: { to: 'iso' } }] }, Obj__c: 'workorder.status' },
        },
      ],
    });
    await expect(r.apply(body('workorder.status.checked_in', { timestamp: undefined }))).rejects.toThrow(
      /x\.fields\.Arrived__c: required value is missing: timestamp is missing/,
    );
    await expect(r.apply(body('workorder.status.checked_in'))).rejects.toThrow(/x\.fields\.Obj__c: a Salesforce field value must be text/);
    await expect(r.apply({} as FieldNationWebhookBody)).rejects.toThrow(/no event\.name/);
  });
  it('validation', () => {
    expect(compileError({ object: 'Case', rules: [] })).toMatch(/events\.yaml: rules: /);
    expect(compileError({ object: 'Case', rules: [{ on: 'x' }] })).toMatch(/rules\[0\]: a rule needs fields, a comment, or both/);
    expect(compileError({ object: 'Case', rules: [{ on: 'x', fields: { 'Bad Field': 'a' } }] })).toMatch(
      /Bad Field: not a Salesforce field API name/,
    );
    expect(compileError({ object: 'Case', rules: [{ name: 'r', on: 'x', fields: { A: { from: 'a', transform: ['zzz'] } } }] })).toMatch(
      /r\.fields\.A: transform\[0\]: unknown transform "zzz"/,
    );
    expect(compileError({ object: 'Case', rules: [{ name: 'r', on: 'x', when: { a: { matches: '(' } }, fields: { A: 'a' } }] })).toMatch(
      /r: when\.a\.matches/,
    );
    expect(compileError({ object: 'Case', rules: [{ on: 'x', fields: { A: 'a' }, comment: { template: 'x', maxBytes: 5000 } }] })).toMatch(
      /maxBytes/,
    );
  });
});
