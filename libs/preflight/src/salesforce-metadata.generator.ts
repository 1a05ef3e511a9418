import type { ConnectionConfig } from '@broker/config';

// Element names and order follow the Metadata API (Flow, FlowStart, FlowActionCall, FlowRecordFilter,
// WorkflowOutboundMessage, Package): Salesforce validates against an XSD sequence, so base-type
// fields come first, then the type's own fields in alphabetical order, as in retrieved metadata.

export const INTEGRATION_USER_PLACEHOLDER = 'REPLACE_WITH_INTEGRATION_USERNAME';
export const INTEGRATION_USER_ID_PLACEHOLDER = 'REPLACE_WITH_INTEGRATION_USER_ID';
const NS = 'http://soap.sforce.com/2006/04/metadata';

export interface GeneratedFile {
  /** Relative to the output directory. */
  path: string;
  content: string;
}

export interface MetadataRequest {
  connection: ConnectionConfig;
  /** Public base URL of the ingress, e.g. https://broker.example.com */
  endpoint: string;
  /** Salesforce username the Outbound Message is sent as (default: the connection's login user). */
  integrationUser?: string;
  /** Id of the user the broker writes as, whose saves the Flows skip (default: salesforce.integrationUserId). */
  integrationUserId?: string;
}

export interface GeneratedMetadata {
  files: GeneratedFile[];
  warnings: string[];
  /** Per object: the names given to its Outbound Message and Flow. */
  objects: { object: string; outboundMessage: string; flow: string; endpointUrl: string; filter?: SimpleFilter }[];
}

export interface SimpleFilter {
  field: string;
  value: { booleanValue: boolean } | { numberValue: number } | { stringValue: string };
}

const esc = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

/** An API name: letters, digits and single underscores, starting with a letter. */
export function apiName(text: string, max = 40): string {
  let name = text
    .replace(/__c$/i, '')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (!/^[A-Za-z]/.test(name)) name = `X_${name}`;
  return name.slice(0, max).replace(/_+$/, '');
}

/**
 * The object's trigger as a Flow entry condition, when it is a single `Field = value` (boolean,
 * number or quoted string). Anything richer (AND/OR, functions, relationships) returns undefined.
 */
export function parseSimpleTrigger(trigger: string | undefined): SimpleFilter | undefined {
  if (!trigger) return undefined;
  const m = /^\s*([A-Za-z][A-Za-z0-9_]*)\s*=\s*(.+?)\s*$/.exec(trigger);
  if (!m) return undefined;
  const [, field, raw] = m as unknown as [string, string, string];
  if (/^(true|false)$/i.test(raw)) return { field, value: { booleanValue: raw.toLowerCase() === 'true' } };
  if (/^-?\d+(\.\d+)?$/.test(raw)) return { field, value: { numberValue: Number(raw) } };
  const quoted = /^'((?:[^'\\]|\\.)*)'$/.exec(raw);
  if (quoted) return { field, value: { stringValue: quoted[1]!.replace(/\\(.)/g, '$1') } };
  return undefined;
}

function filterValueXml(value: SimpleFilter['value']): string {
  if ('booleanValue' in value) return `<booleanValue>${value.booleanValue}</booleanValue>`;
  if ('numberValue' in value) return `<numberValue>${value.numberValue}</numberValue>`;
  return `<stringValue>${esc(value.stringValue)}</stringValue>`;
}

function outboundMessageXml(o: {
  name: string;
  apiVersion: string;
  endpointUrl: string;
  integrationUser: string;
  description: string;
}): string {
  return `    <outboundMessages>
        <fullName>${esc(o.name)}</fullName>
        <apiVersion>${esc(o.apiVersion)}</apiVersion>
        <description>${esc(o.description)}</description>
        <endpointUrl>${esc(o.endpointUrl)}</endpointUrl>
        <fields>Id</fields>
        <includeSessionId>false</includeSessionId>
        <integrationUser>${esc(o.integrationUser)}</integrationUser>
        <name>${esc(o.name)}</name>
        <protected>false</protected>
        <useDeadLetterQueue>false</useDeadLetterQueue>
    </outboundMessages>`;
}

export interface FlowFilter {
  field: string;
  operator: 'EqualTo' | 'NotEqualTo' | 'IsNull';
  value: SimpleFilter['value'];
}

/**
 * The Flow's entry conditions and their logic (FlowStart.filters + filterLogic, help: "How Entry
 * Conditions Work in Record-Triggered Flows"). After the save, LastModifiedById is the user who
 * saved: the broker's own write-backs, status updates and comments must not send the record back to
 * it (each would cost a fetch and could loop). A record that already has a work order is sent on any
 * other change, whether or not the trigger still holds: the write-back may reset the trigger checkbox
 * (writeBack.resetCheckbox), and the fetcher reads a correlated record without the trigger anyway.
 */
export function flowEntryConditions(o: { filter?: SimpleFilter; workOrderIdField?: string; integrationUserId: string }): {
  filters: FlowFilter[];
  logic: string;
} {
  const notIntegrationUser: FlowFilter = { field: 'LastModifiedById', operator: 'NotEqualTo', value: { stringValue: o.integrationUserId } };
  if (o.filter && o.workOrderIdField) {
    return {
      filters: [
        { field: o.filter.field, operator: 'EqualTo', value: o.filter.value },
        // IsNull takes a boolean: false = "is not null".
        { field: o.workOrderIdField, operator: 'IsNull', value: { booleanValue: false } },
        notIntegrationUser,
      ],
      logic: '(1 OR 2) AND 3',
    };
  }
  return {
    filters: [...(o.filter ? [{ field: o.filter.field, operator: 'EqualTo' as const, value: o.filter.value }] : []), notIntegrationUser],
    logic: 'and',
  };
}

function flowXml(f: {
  apiVersion: string;
  label: string;
  object: string;
  actionName: string;
  recordTriggerType: 'Create' | 'CreateAndUpdate';
  filters: FlowFilter[];
  logic: string;
}): string {
  const filter = `
        <filterLogic>${esc(f.logic)}</filterLogic>${f.filters
          .map(
            (c) => `
        <filters>
            <field>${esc(c.field)}</field>
            <operator>${c.operator}</operator>
            <value>
                ${filterValueXml(c.value)}
            </value>
        </filters>`,
          )
          .join('')}`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<Flow xmlns="${NS}">
    <actionCalls>
        <name>Send_Outbound_Message</name>
        <label>Send Outbound Message</label>
        <locationX>176</locationX>
        <locationY>323</locationY>
        <actionName>${esc(f.actionName)}</actionName>
        <actionType>outboundMessage</actionType>
    </actionCalls>
    <apiVersion>${esc(f.apiVersion)}</apiVersion>
    <description>Generated by the broker CLI (npm run broker -- salesforce metadata): sends the record id to the integration broker.</description>
    <interviewLabel>${esc(f.label)} {!$Flow.CurrentDateTime}</interviewLabel>
    <label>${esc(f.label)}</label>
    <processType>AutoLaunchedFlow</processType>
    <start>
        <locationX>50</locationX>
        <locationY>0</locationY>
        <connector>
            <targetReference>Send_Outbound_Message</targetReference>
        </connector>${filter}
        <object>${esc(f.object)}</object>
        <recordTriggerType>${f.recordTriggerType}</recordTriggerType>
        <triggerType>RecordAfterSave</triggerType>
    </start>
    <status>Active</status>
</Flow>
`;
}

function packageXml(flows: string[], outboundMessages: string[], apiVersion: string): string {
  const types = (name: string, members: string[]) =>
    members.length
      ? `    <types>\n${[...members]
          .sort()
          .map((m) => `        <members>${esc(m)}</members>\n`)
          .join('')}        <name>${name}</name>\n    </types>\n`
      : '';
  return `<?xml version="1.0" encoding="UTF-8"?>
<Package xmlns="${NS}">
${types('Flow', flows)}${types('WorkflowOutboundMessage', outboundMessages)}    <version>${esc(apiVersion)}</version>
</Package>
`;
}

/** Outbound Message + record-triggered Flow per configured object of a connection, and the package.xml. */
export function generateSalesforceMetadata(request: MetadataRequest): GeneratedMetadata {
  const { connection } = request;
  const apiVersion = connection.salesforce.apiVersion;
  const warnings: string[] = [];
  const base = request.endpoint.replace(/\/+$/, '');
  // The token goes into the URL Salesforce is given: without it the ingress refuses the messages.
  const token = connection.salesforce.pathToken;
  const endpointUrl = `${base}/salesforce/outbound/${encodeURIComponent(connection.id)}${token ? `/${token}` : ''}`;
  if (token) warnings.push("the Outbound Message files hold the connection's path token (a secret): deploy them, do not commit them");
  else
    warnings.push(
      'the connection has no path token (salesforce.unsafeAllowNoPathToken): anyone who knows the URL can post Outbound Messages; generate one with `broker salesforce path-token`',
    );
  if (!/^https:\/\//.test(base))
    warnings.push(`endpoint ${base} is not https: Salesforce production orgs send Outbound Messages over HTTPS only`);
  const auth = connection.salesforce.auth;
  let integrationUser = request.integrationUser ?? ('username' in auth ? auth.username : undefined);
  if (!integrationUser) {
    integrationUser = INTEGRATION_USER_PLACEHOLDER;
    warnings.push(`replace ${INTEGRATION_USER_PLACEHOLDER} with the integration user's username (or pass --integration-user)`);
  }

  const integrationUserId = request.integrationUserId ?? connection.salesforce.integrationUserId ?? INTEGRATION_USER_ID_PLACEHOLDER;
  if (integrationUserId === INTEGRATION_USER_ID_PLACEHOLDER) {
    warnings.push(
      `replace ${INTEGRATION_USER_ID_PLACEHOLDER} in the Flows with the id (005...) of the user the broker logs in as (or set salesforce.integrationUserId, or pass --integration-user-id): the Flows skip that user's saves`,
    );
  }

  const files: GeneratedFile[] = [];
  const objects: GeneratedMetadata['objects'] = [];
  for (const [object, settings] of Object.entries(connection.objects)) {
    const objectPart = object.replace(/__c$/i, '');
    const omName = apiName(`Broker_${connection.id}_${objectPart}`);
    const flowName = apiName(`Broker_${connection.id}_${objectPart}_to_Field_Nation`, 80);
    const filter = parseSimpleTrigger(settings.trigger);
    if (settings.trigger && !filter) {
      warnings.push(
        `${object}: trigger "${settings.trigger}" is not a simple Field = value; the Flow ${flowName} has no entry condition. Add it in Flow Builder before activating, or every save sends a message`,
      );
    }
    if (filter && !settings.writeBack?.workOrderIdField) {
      warnings.push(
        settings.writeBack?.resetCheckbox
          ? `${object}: no writeBack.workOrderIdField, so the Flow ${flowName} fires only while ${filter.field} holds; writeBack.resetCheckbox clears it after the first sync, so later edits send no Outbound Message and never reach Field Nation (the reconciliation sweep looks for the trigger too). Set writeBack.workOrderIdField, or drop resetCheckbox`
          : `${object}: no writeBack.workOrderIdField, so the Flow ${flowName} fires only while ${filter.field} holds: edits made after someone clears it do not reach Field Nation`,
      );
    }
    files.push({
      path: `workflows/${object}.workflow-meta.xml`,
      content: `<?xml version="1.0" encoding="UTF-8"?>
<Workflow xmlns="${NS}">
${outboundMessageXml({ name: omName, apiVersion, endpointUrl, integrationUser, description: `Record id to the integration broker (connection ${connection.id})` })}
</Workflow>
`,
    });
    files.push({
      path: `flows/${flowName}.flow-meta.xml`,
      content: flowXml({
        apiVersion,
        label: `Broker ${connection.id}: ${object} to Field Nation`,
        object,
        actionName: `${object}.${omName}`,
        // Comments become messages once, when written; edits are not re-sent.
        recordTriggerType: object === 'CaseComment' ? 'Create' : 'CreateAndUpdate',
        ...flowEntryConditions({ filter, workOrderIdField: settings.writeBack?.workOrderIdField, integrationUserId }),
      }),
    });
    objects.push({ object, outboundMessage: `${object}.${omName}`, flow: flowName, endpointUrl, filter });
  }
  files.unshift({
    path: 'package.xml',
    content: packageXml(
      objects.map((o) => o.flow),
      objects.map((o) => o.outboundMessage),
      apiVersion,
    ),
  });
  return { files, warnings, objects };
}
