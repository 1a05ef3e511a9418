import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../../../scripts/lib/broker-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ salesforceSim: { outboundRetryBaseMs: 1_000, timeFactor: 1 } });
});
afterAll(async () => {
  await h?.stop();
});

const correlationOf = (sfId: string) => h.store.getCorrelation({ connectionId: 'demo', sfId });

describe('Salesforce → Field Nation, end to end', () => {
  it('turns a Case with Account, Contact and Owner fields into the expected work order, then updates it', async () => {
    const caseId = h.sf.ref('case_install');
    h.sf.updateRecord('Case', caseId, { Send_to_Field_Nation__c: true }, { as: 'dispatcher@example.com' });
    const c = await h.waitFor('work order created', async () => (await correlationOf(caseId))?.state === 'synced' && correlationOf(caseId));
    const wo = h.fn.getWorkOrder(c.workOrderId!)!;
    const record = h.sf.getRecord(caseId)!;
    const account = h.sf.getRecord(String(record.AccountId))!;
    expect(wo.title).toContain(String(record.CaseNumber));
    expect(wo.incident_id).toBe(caseId);
    expect(wo.location).toMatchObject({ city: account.BillingCity });
    expect(wo.status.id).toBe(2); // published after create (afterCreate.publish)
    // Contact (one level), the Account's Owner (two) and the Owner's Manager (three) become contacts.
    const contact = h.sf.getRecord(String(record.ContactId))!;
    const owner = h.sf.getRecord(String(account.OwnerId))!;
    const contacts = JSON.stringify(wo.contacts);
    expect(contacts).toContain(`${contact.FirstName} ${contact.LastName}`);
    expect(contacts).toContain(String(contact.Email));
    expect(contacts).toContain(String(owner.Email));
    expect(owner.ManagerId).toBeTruthy();
    expect(contacts).toContain(String(h.sf.getRecord(String(owner.ManagerId))!.Email));
    expect(JSON.stringify(wo.custom_fields)).toContain(caseId); // custom field 606 carries the Case id
    // The write-back: work order id and sync status on the Case, in one composite call.
    await h.waitFor('write-back', () => h.sf.getRecord(caseId)!.Field_Nation_Work_Order_Id__c === String(c.workOrderId));
    expect(h.sf.getRecord(caseId)!.Field_Nation_Sync_Status__c).toBe('Synced');

    h.sf.updateRecord('Case', caseId, { Subject: 'Install two printers' }, { as: 'dispatcher@example.com' });
    await h.waitFor('work order updated', () => String(h.fn.getWorkOrder(c.workOrderId!)!.title).includes('Install two printers'));
    expect(h.fn.listWorkOrders().filter((w) => w.incident_id === caseId)).toHaveLength(1);
    const timeline = await h.store.timeline(caseId);
    expect(timeline.map((t) => t.stage)).toEqual(expect.arrayContaining(['received', 'fetched', 'mapped', 'written']));
  });
});
