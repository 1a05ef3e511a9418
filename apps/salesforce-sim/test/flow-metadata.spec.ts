import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '@broker/config';
import { parseOutboundMessage } from '@broker/salesforce';
import { TEST_PATH_TOKEN } from '@broker/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { generateSalesforceMetadata } from '@broker/preflight';
import { startSalesforceSim } from '../src/index';
import { failure, soapConnection, simWithListener } from './helpers';

// The simulated org runs the Flows `broker salesforce metadata` writes, as XML, instead of a rule of
// its own: what is tested here is what an admin deploys.
const root = path.resolve(import.meta.dirname, '../../..');
const INTEGRATION_USER_ID = '005000000000001AAA';

function generated(endpoint: string, integrationUserId = INTEGRATION_USER_ID) {
  const config = loadConfig(path.join(root, 'config/demo.yaml'), { SF_OM_PATH_TOKEN: TEST_PATH_TOKEN });
  return generateSalesforceMetadata({ connection: config.connections[0]!, endpoint, integrationUserId });
}

describe('generated Flow metadata in the simulated org', () => {
  const env = simWithListener({ outboundToListener: false });

  beforeEach(async () => {
    // Only the generated package: the org file's own Flows go.
    for (const f of env.sim.flows()) env.sim.removeFlow(f.name);
    expect(env.sim.ref('integration')).toBe(INTEGRATION_USER_ID);
    const { files } = generated(env.listener.url);
    expect(env.sim.deployMetadata(files)).toEqual({
      outboundMessages: ['Broker_demo_Case', 'Broker_demo_CaseComment'],
      flows: ['Broker_demo_Case_to_Field_Nation', 'Broker_demo_CaseComment_to_Field_Nation'],
    });
  });

  it('a write-back by the integration user fires no Outbound Message; a user change does', async () => {
    const broker = await soapConnection(env.sim); // the integration user, over REST as the broker writes
    const caseId = env.sim.ref('case_install');
    // Ticked and written back by the broker: its own saves.
    await broker
      .sobject('Case')
      .update({ Id: caseId, Send_to_Field_Nation__c: true, Field_Nation_Work_Order_Id__c: '1234', Field_Nation_Sync_Status__c: 'Synced' });
    await broker.sobject('CaseComment').create({ ParentId: caseId, CommentBody: 'Technician checked in (from Field Nation)' });
    await env.sim.outboundIdle();
    expect(env.listener.requests).toHaveLength(0);
    expect(env.sim.outbound({})).toHaveLength(0);

    // A dispatcher edits the same case and comments: both are sent.
    env.sim.updateRecord('Case', caseId, { Priority: 'High' }, { as: 'dispatcher@example.com' });
    env.sim.createRecord('CaseComment', { ParentId: caseId, CommentBody: 'Gate code 4711' }, { as: 'dispatcher@example.com' });
    const reqs = await env.listener.waitFor(2);
    await env.sim.outboundIdle();
    expect(env.listener.requests).toHaveLength(2);
    const sent = reqs.flatMap((r) => parseOutboundMessage(r.body).notifications);
    expect(sent.map((n) => n.sObjectType).sort()).toEqual(['Case', 'CaseComment']);
    expect(sent.find((n) => n.sObjectType === 'Case')!.sfId).toBe(caseId);
    expect(
      env.sim
        .outbound({})
        .map((n) => n.flow)
        .sort(),
    ).toEqual(['Broker_demo_CaseComment_to_Field_Nation', 'Broker_demo_Case_to_Field_Nation']);

    // The entry condition still holds: an unticked case sends nothing, whoever saves it.
    env.listener.requests.length = 0;
    env.sim.updateRecord('Case', env.sim.ref('case_repair'), { Priority: 'Low' }, { as: 'dispatcher@example.com' });
    await env.sim.outboundIdle();
    expect(env.listener.requests).toHaveLength(0);
  });

  it('keeps sending a Case that has a work order after the broker reset its checkbox; an unticked Case without one sends nothing', async () => {
    const broker = await soapConnection(env.sim);
    const caseId = env.sim.ref('case_install');
    // The first sync as the broker writes it back with writeBack.resetCheckbox: the id in, the box out.
    env.sim.updateRecord('Case', caseId, { Send_to_Field_Nation__c: true }, { as: 'dispatcher@example.com' });
    await env.listener.waitFor(1);
    await env.sim.outboundIdle();
    await broker.sobject('Case').update({ Id: caseId, Field_Nation_Work_Order_Id__c: '1234', Send_to_Field_Nation__c: false });
    await env.sim.outboundIdle();
    expect(env.listener.requests).toHaveLength(1);

    // A dispatcher's later edit: the box is false, the work order id is set.
    env.listener.requests.length = 0;
    env.sim.updateRecord('Case', caseId, { Subject: 'Install 4 POS terminals' }, { as: 'dispatcher@example.com' });
    const [req] = await env.listener.waitFor(1);
    expect(parseOutboundMessage(req!.body).notifications.map((n) => n.sfId)).toEqual([caseId]);

    // Neither the trigger nor a work order: nothing, whoever saves it; and the broker's own saves never.
    env.listener.requests.length = 0;
    const repair = env.sim.ref('case_repair');
    expect(env.sim.getRecord(repair)).toMatchObject({ Send_to_Field_Nation__c: false, Field_Nation_Work_Order_Id__c: null });
    env.sim.updateRecord('Case', repair, { Priority: 'Low' }, { as: 'dispatcher@example.com' });
    await broker.sobject('Case').update({ Id: caseId, Field_Nation_Sync_Status__c: 'Synced' });
    // '' is no work order id: Salesforce stores empty text as null.
    env.sim.updateRecord('Case', repair, { Field_Nation_Work_Order_Id__c: '' }, { as: 'dispatcher@example.com' });
    await env.sim.outboundIdle();
    expect(env.listener.requests).toHaveLength(0);
  });

  it('compares the integration user id as Salesforce does: 15 or 18 characters', async () => {
    for (const f of env.sim.flows()) env.sim.removeFlow(f.name);
    env.sim.deployMetadata(generated(env.listener.url, INTEGRATION_USER_ID.slice(0, 15)).files);
    env.sim.updateRecord('Case', env.sim.ref('case_install'), { Send_to_Field_Nation__c: true }, { as: 'integration@example.com' });
    await env.sim.outboundIdle();
    expect(env.listener.requests).toHaveLength(0);
  });

  it('refuses Flow XML it does not understand instead of guessing', () => {
    const flow = generated(env.listener.url).files.find((f) => f.path === 'flows/Broker_demo_Case_to_Field_Nation.flow-meta.xml')!;
    const deploy = (edit: (xml: string) => string) => () =>
      env.sim.deployMetadata([{ path: 'flows/Edited.flow-meta.xml', content: edit(flow.content) }]);
    const logic = (l: string) => deploy((x) => x.replace('<filterLogic>(1 OR 2) AND 3</filterLogic>', `<filterLogic>${l}</filterLogic>`));
    expect(logic('formula_evaluates_to_true')).toThrow(/start\.filterLogic "formula_evaluates_to_true" is not supported/);
    expect(logic('1 OR 2 AND 3')).toThrow(/AND and OR mixed without parentheses/);
    expect(logic('(1 OR 4) AND 3')).toThrow(/no condition 4/);
    expect(logic('1 AND 3')).toThrow(/condition 2 is not used/);
    expect(logic('(1 OR 2) AND 3)')).toThrow(/unexpected "\)"/);
    expect(logic('(1 OR 2 AND 3')).toThrow(/unbalanced parentheses|mixed/);
    expect(deploy((x) => x.replace('<operator>IsNull</operator>', '<operator>IsChanged</operator>'))).toThrow(
      /filter operator IsChanged is not supported/,
    );
    expect(
      deploy((x) =>
        x.replace(
          '<operator>IsNull</operator>\n            <value>\n                <booleanValue>false</booleanValue>',
          '<operator>IsNull</operator>\n            <value>\n                <stringValue>x</stringValue>',
        ),
      ),
    ).toThrow(/IsNull with stringValue is not supported/);
    expect(deploy((x) => x.replace('<operator>NotEqualTo</operator>', '<operator>Contains</operator>'))).toThrow(
      /filter operator Contains is not supported/,
    );
    expect(
      deploy((x) =>
        x.replace('<object>Case</object>', '<filterFormula>ISCHANGED({!$Record.Status})</filterFormula>\n        <object>Case</object>'),
      ),
    ).toThrow(/start\.filterFormula is not supported/);
    expect(deploy((x) => x.replace('<apiVersion>', '<decisions><name>D</name></decisions>\n    <apiVersion>'))).toThrow(
      /Flow\.decisions is not supported/,
    );
    expect(deploy((x) => x.replace('RecordAfterSave', 'RecordBeforeSave'))).toThrow(/triggerType RecordBeforeSave/);
    expect(deploy((x) => x.replace('<field>LastModifiedById</field>', '<field>Nope__c</field>'))).toThrow(/no field Nope__c on Case/);
    expect(() => env.sim.deployMetadata([{ path: 'classes/Foo.cls', content: '' }])).toThrow(/not a workflow, flow or package\.xml file/);
  });

  it('is also reachable over the control API', async () => {
    const res = await fetch(`${env.sim.url}/__sim/metadata`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ files: [{ path: 'flows/X.flow-meta.xml', content: '<Flow><processType>Screen</processType></Flow>' }] }),
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain('processType Screen is not supported');
  });
});

describe('the default org', () => {
  it("runs the generator's Flows for config/demo.yaml (only the Outbound Message names differ)", () => {
    const files = generated('https://broker.example.com').files;
    const pairs = [
      [
        'flows/Broker_demo_Case_to_Field_Nation.flow-meta.xml',
        'Send_Case_to_Field_Nation',
        ['Case.Broker_demo_Case<', 'Case.Field_Nation_Case_Dispatch<'],
      ],
      [
        'flows/Broker_demo_CaseComment_to_Field_Nation.flow-meta.xml',
        'Send_Case_Comment_to_Field_Nation',
        ['CaseComment.Broker_demo_CaseComment<', 'CaseComment.Field_Nation_Case_Comment<'],
      ],
    ] as const;
    for (const [gen, name, [from, to]] of pairs) {
      const committed = readFileSync(path.join(root, `apps/salesforce-sim/org/metadata/flows/${name}.flow-meta.xml`), 'utf8');
      expect(committed, name).toBe(files.find((f) => f.path === gen)!.content.replace(from, to));
    }
  });

  it('refuses a Flow whose Outbound Message does not exist', async () => {
    const sim = await startSalesforceSim({ port: 0 });
    try {
      const flow = generated('https://x.example.com').files.find((f) => f.path.startsWith('flows/Broker_demo_Case_'))!;
      const err = await failure(Promise.resolve().then(() => sim.deployMetadata([flow])));
      expect(err.message).toMatch(/no outbound message Case\.Broker_demo_Case/);
    } finally {
      await sim.close();
    }
  });
});
