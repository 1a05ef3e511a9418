import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { workspaceRoot } from '../../../vitest.shared';
import { salesforceMetadataCommand } from '../src/salesforce-metadata.command';
import { loadConfig } from '@broker/config';
import { TEST_PATH_TOKEN } from '@broker/testing';
import {
  apiName,
  generateSalesforceMetadata,
  parseSimpleTrigger,
  INTEGRATION_USER_PLACEHOLDER,
  INTEGRATION_USER_ID_PLACEHOLDER,
} from '@broker/preflight';
import { captureIo, testConfigYaml, tmpDir } from './cli-test-kit';

const parser = new XMLParser({
  ignoreAttributes: false,
  parseTagValue: false,
  isArray: (name) => ['types', 'members', 'outboundMessages', 'filters', 'actionCalls'].includes(name),
});

function generate(connection: string, extra: { endpoint?: string; integrationUser?: string; integrationUserId?: string } = {}) {
  const dir = tmpDir('meta');
  const config = path.join(dir, 'broker.yaml');
  writeFileSync(config, testConfigYaml(path.join(workspaceRoot, 'config/mappings')));
  const out = path.join(dir, 'out');
  const io = captureIo();
  const code = salesforceMetadataCommand(
    {
      config: loadConfig(config, {}),
      connection,
      out,
      endpoint: extra.endpoint ?? 'https://broker.example.com/',
      integrationUser: extra.integrationUser,
      integrationUserId: extra.integrationUserId,
    },
    io,
    {},
  );
  const files = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else files.set(path.relative(out, p), readFileSync(p, 'utf8'));
    }
  };
  walk(out);
  return { code, io, files, read: (p: string) => parser.parse(files.get(p)!) };
}

describe('salesforce metadata', () => {
  it('writes well-formed XML for every configured object', () => {
    const { code, files } = generate('demo');
    expect(code).toBe(0);
    expect([...files.keys()].sort()).toEqual([
      'flows/Broker_demo_CaseComment_to_Field_Nation.flow-meta.xml',
      'flows/Broker_demo_Case_to_Field_Nation.flow-meta.xml',
      'flows/Broker_demo_Work_Request_to_Field_Nation.flow-meta.xml',
      'package.xml',
      'workflows/Case.workflow-meta.xml',
      'workflows/CaseComment.workflow-meta.xml',
      'workflows/Work_Request__c.workflow-meta.xml',
    ]);
    for (const [name, text] of files) expect(XMLValidator.validate(text), name).toBe(true);
  });

  it('declares each Outbound Message with the object, the Id field and the ingress endpoint', () => {
    const { read } = generate('demo');
    const om = read('workflows/Case.workflow-meta.xml').Workflow.outboundMessages[0];
    expect(om).toMatchObject({
      fullName: 'Broker_demo_Case',
      apiVersion: '61.0',
      endpointUrl: 'https://broker.example.com/salesforce/outbound/demo/tEsT-pAtH-t0ken_0123456789abcdef',
      fields: 'Id',
      includeSessionId: 'false',
      integrationUser: 'integration@example.com',
      name: 'Broker_demo_Case',
      protected: 'false',
      useDeadLetterQueue: 'false',
    });
    expect(read('workflows/Case.workflow-meta.xml').Workflow['@_xmlns']).toBe('http://soap.sforce.com/2006/04/metadata');
  });

  it('triggers each Outbound Message from a record-triggered Flow, filtered by a simple trigger', () => {
    const { read, io } = generate('demo');
    const flow = read('flows/Broker_demo_Case_to_Field_Nation.flow-meta.xml').Flow;
    expect(flow.processType).toBe('AutoLaunchedFlow');
    expect(flow.start).toMatchObject({
      object: 'Case',
      recordTriggerType: 'CreateAndUpdate',
      triggerType: 'RecordAfterSave',
      filterLogic: 'and',
    });
    // The broker's own saves (write-backs, status updates, comments) must not come back as messages.
    const skipBroker = { field: 'LastModifiedById', operator: 'NotEqualTo', value: { stringValue: INTEGRATION_USER_ID_PLACEHOLDER } };
    expect(flow.start.filters).toEqual([
      { field: 'Send_to_Field_Nation__c', operator: 'EqualTo', value: { booleanValue: 'true' } },
      skipBroker,
    ]);
    expect(flow.start.connector.targetReference).toBe(flow.actionCalls[0].name);
    expect(flow.actionCalls[0]).toMatchObject({ actionType: 'outboundMessage', actionName: 'Case.Broker_demo_Case' });

    // A compound trigger cannot become a Flow filter: only the integration-user one, and a warning saying so.
    const custom = read('flows/Broker_demo_Work_Request_to_Field_Nation.flow-meta.xml').Flow;
    expect(custom.start.object).toBe('Work_Request__c');
    expect(custom.start.filters).toEqual([skipBroker]);
    expect(custom.start.filterLogic).toBe('and');
    expect(custom.actionCalls[0].actionName).toBe('Work_Request__c.Broker_demo_Work_Request');
    expect(io.stderr.join('\n')).toMatch(
      /Work_Request__c: trigger "Status__c = 'Ready' AND Region__c != null" is not a simple Field = value/,
    );

    const comments = read('flows/Broker_demo_CaseComment_to_Field_Nation.flow-meta.xml').Flow.start;
    expect(comments.recordTriggerType).toBe('Create');
    expect(comments.filters).toEqual([skipBroker]);
    expect(io.stderr.join('\n')).toContain(`replace ${INTEGRATION_USER_ID_PLACEHOLDER} in the Flows`);
  });

  it('keeps sending a record that has a work order after its trigger is reset: (trigger OR work order id set) AND not the broker', () => {
    // config/demo.yaml writes the work order id back (writeBack.workOrderIdField).
    const demo = loadConfig(path.join(workspaceRoot, 'config/demo.yaml'), { SF_OM_PATH_TOKEN: TEST_PATH_TOKEN }).connections[0]!;
    const meta = generateSalesforceMetadata({
      connection: demo,
      endpoint: 'https://broker.example.com',
      integrationUserId: '005000000000001AAA',
    });
    const flow = parser.parse(meta.files.find((f) => f.path === 'flows/Broker_demo_Case_to_Field_Nation.flow-meta.xml')!.content).Flow;
    expect(flow.start.filterLogic).toBe('(1 OR 2) AND 3');
    expect(flow.start.filters).toEqual([
      { field: 'Send_to_Field_Nation__c', operator: 'EqualTo', value: { booleanValue: 'true' } },
      // FlowRecordFilter IsNull takes a boolean: false means "is not null".
      { field: 'Field_Nation_Work_Order_Id__c', operator: 'IsNull', value: { booleanValue: 'false' } },
      { field: 'LastModifiedById', operator: 'NotEqualTo', value: { stringValue: '005000000000001AAA' } },
    ]);
    expect(meta.warnings.join('\n')).not.toContain('workOrderIdField');
    // Comments have no work order of their own: unchanged.
    const comments = parser.parse(meta.files.find((f) => f.path === 'flows/Broker_demo_CaseComment_to_Field_Nation.flow-meta.xml')!.content)
      .Flow.start;
    expect(comments.filterLogic).toBe('and');
    expect(comments.filters).toHaveLength(1);
  });

  it('says what happens to edits when there is no work order id field to filter on', () => {
    // The test config's Case has a trigger but no write-back: the Flow can only follow the trigger.
    const { read, io } = generate('demo');
    expect(read('flows/Broker_demo_Case_to_Field_Nation.flow-meta.xml').Flow.start.filterLogic).toBe('and');
    expect(io.stderr.join('\n')).toMatch(
      /Case: no writeBack\.workOrderIdField, so the Flow Broker_demo_Case_to_Field_Nation fires only while Send_to_Field_Nation__c holds/,
    );
    // With resetCheckbox the consequence is certain: no edit after the first sync is ever sent.
    const dir = tmpDir('meta-reset');
    const file = path.join(dir, 'broker.yaml');
    writeFileSync(
      file,
      testConfigYaml(path.join(workspaceRoot, 'config/mappings')).replace(
        '        trigger: Send_to_Field_Nation__c = true\n',
        '        trigger: Send_to_Field_Nation__c = true\n        writeBack: { resetCheckbox: Send_to_Field_Nation__c }\n',
      ),
    );
    const connection = loadConfig(file, {}).connections.find((c) => c.id === 'demo')!;
    expect(connection.objects.Case!.writeBack?.resetCheckbox).toBe('Send_to_Field_Nation__c');
    const { warnings } = generateSalesforceMetadata({ connection, endpoint: 'https://broker.example.com' });
    expect(warnings.join('\n')).toMatch(
      /Case: no writeBack\.workOrderIdField.*resetCheckbox clears it after the first sync, so later edits send no Outbound Message and never reach Field Nation/,
    );
  });

  it("takes the integration user's id from the config or --integration-user-id", () => {
    const fromFlag = generate('demo', { integrationUserId: '005000000000009AAA' });
    expect(fromFlag.read('flows/Broker_demo_Case_to_Field_Nation.flow-meta.xml').Flow.start.filters[1].value.stringValue).toBe(
      '005000000000009AAA',
    );
    expect(fromFlag.io.stderr.join('\n')).not.toContain(INTEGRATION_USER_ID_PLACEHOLDER);
  });

  it('lists every component in package.xml', () => {
    const pkg = generate('demo').read('package.xml').Package;
    expect(pkg.version).toBe('61.0');
    const byType = Object.fromEntries(pkg.types.map((t: { name: string; members: string[] }) => [t.name, t.members]));
    expect(byType.WorkflowOutboundMessage).toEqual([
      'Case.Broker_demo_Case',
      'CaseComment.Broker_demo_CaseComment',
      'Work_Request__c.Broker_demo_Work_Request',
    ]);
    expect(byType.Flow).toHaveLength(3);
  });

  it("puts the connection's path token into the endpoint URL (the ingress refuses messages without it) and warns that the files hold it", () => {
    const { read, io } = generate('locked');
    const om = read('workflows/Opportunity.workflow-meta.xml').Workflow.outboundMessages[0];
    expect(om.endpointUrl).toBe('https://broker.example.com/salesforce/outbound/locked/a-secret-path-token-0123');
    expect(om.integrationUser).toBe(INTEGRATION_USER_PLACEHOLDER);
    expect(read('flows/Broker_locked_Opportunity_to_Field_Nation.flow-meta.xml').Flow.start.filters[0]).toEqual({
      field: 'StageName',
      operator: 'EqualTo',
      value: { stringValue: 'Closed Won' },
    });
    expect(io.stderr.join('\n')).toContain("hold the connection's path token (a secret)");
  });

  it('escapes what it writes and refuses bad input', () => {
    const { read, files } = generate('demo', { integrationUser: 'a&b@example.com' });
    expect(files.get('workflows/Case.workflow-meta.xml')).toContain('<integrationUser>a&amp;b@example.com</integrationUser>');
    expect(read('workflows/Case.workflow-meta.xml').Workflow.outboundMessages[0].integrationUser).toBe('a&b@example.com');
    expect(() => generate('nope')).toThrow(/no connection "nope" \(have: demo, locked\)/);
    expect(() => generate('', {})).toThrow(/choose a connection/);
    expect(() => generate('demo', { endpoint: 'not a url' })).toThrow(/not a URL/);
  });

  it('parses only simple triggers and makes valid API names', () => {
    expect(parseSimpleTrigger('Send__c = TRUE')).toEqual({ field: 'Send__c', value: { booleanValue: true } });
    expect(parseSimpleTrigger('Priority_Score__c = 3')).toEqual({ field: 'Priority_Score__c', value: { numberValue: 3 } });
    expect(parseSimpleTrigger("Name = 'O\\'Brien'")).toEqual({ field: 'Name', value: { stringValue: "O'Brien" } });
    expect(parseSimpleTrigger('A = 1 OR B = 2')).toBeUndefined();
    expect(parseSimpleTrigger('Account.Type = 1')).toBeUndefined();
    expect(apiName('Broker_my-conn_Work_Order__c')).toBe('Broker_my_conn_Work_Order');
    expect(apiName('1st')).toBe('X_1st');
  });
});
