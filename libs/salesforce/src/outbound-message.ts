import { XMLParser } from 'fast-xml-parser';
import { isSalesforceId, sameSalesforceId, toId18 } from './sf-id';

export const SOAP_ENV_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const OUTBOUND_NS = 'http://soap.sforce.com/2005/09/outbound';
export const SOBJECT_NS = 'urn:sobject.enterprise.soap.sforce.com';
export const MAX_NOTIFICATIONS = 100;

export interface OutboundNotification {
  /** Notification id: Salesforce reuses it on redelivery, so it is the dedup key. */
  id: string;
  sObjectType: string;
  /** The record id, normalised to 18 characters. */
  sfId: string;
  /** Fields sent, by API name; a field Salesforce omitted is simply absent (it means null). */
  fields: Record<string, string | null>;
}

export interface OutboundMessage {
  organizationId: string;
  actionId: string;
  /** Present only when "Send Session ID" is on. Never log it or put it in job data. */
  sessionId: string | null;
  enterpriseUrl: string;
  partnerUrl: string;
  notifications: OutboundNotification[];
}

export type OutboundMessageFault = 'malformed' | 'limits' | 'wrong-org' | 'invalid';

/** The message is not a valid Outbound Message; answered with a SOAP Client fault. */
export class OutboundMessageError extends Error {
  constructor(
    message: string,
    readonly reason: OutboundMessageFault = 'invalid',
  ) {
    super(message);
    this.name = 'OutboundMessageError';
  }
}

/**
 * Bounds on the shape of an envelope, checked by {@link scanOutboundMessage} before any tree is
 * built. A real envelope is 6 levels deep (Envelope, Body, notifications, Notification, sObject,
 * field), carries at most 3 attributes on an element (xmlns declarations, xsi:type, xsi:nil) and
 * 4 elements per Id-only notification; the element bound leaves room for ~100 fields on each of
 * 100 notifications.
 */
export const OUTBOUND_LIMITS = { maxDepth: 12, maxElements: 12_000, maxAttributesPerElement: 16, maxAttributes: 12_000 } as const;
export type OutboundLimits = { [K in keyof typeof OUTBOUND_LIMITS]: number };

export interface OutboundScan {
  /** Text of Envelope/Body/notifications/OrganizationId, as sent (not validated). */
  organizationId: string | undefined;
  notificationCount: number;
}

const isNameEnd = (c: number) => c === 32 || c === 9 || c === 10 || c === 13 || c === 47 /* / */ || c === 62; /* > */
const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;
const PATH = ['Envelope', 'Body', 'notifications'];

/**
 * One linear pass over the raw text (indexOf-driven, no tree, no strings per element): the tag
 * structure is balanced and within {@link OUTBOUND_LIMITS}, no DTD, and it finds the organization id
 * and the notification count. It lets the endpoint refuse another org's message, or a hostile shape,
 * for the cost of reading the bytes once, before the XML parser builds anything.
 */
export function scanOutboundMessage(xml: string, limits: OutboundLimits = OUTBOUND_LIMITS): OutboundScan {
  const malformed = (what: string) => new OutboundMessageError(`malformed XML: ${what}`, 'malformed');
  const stack: string[] = [];
  let elements = 0;
  let attributes = 0;
  let notificationCount = 0;
  let organizationId: string | undefined;
  let orgTextFrom = -1;
  const n = xml.length;
  let i = xml.indexOf('<');
  if (i === -1 || xml.slice(0, i).trim() !== '') throw malformed('not an XML document');
  while (i !== -1) {
    const c = xml.charCodeAt(i + 1);
    if (c === 63 /* ? */) {
      const end = xml.indexOf('?>', i + 2);
      if (end === -1) throw malformed('unterminated processing instruction');
      i = xml.indexOf('<', end + 2);
      continue;
    }
    if (c === 33 /* ! */) {
      let end: number;
      if (xml.startsWith('<!--', i)) end = xml.indexOf('-->', i + 4) + 3;
      else if (xml.startsWith('<![CDATA[', i)) end = xml.indexOf(']]>', i + 9) + 3;
      else throw new OutboundMessageError('DTDs and entity declarations are not allowed', 'malformed');
      if (end === 2) throw malformed('unterminated comment or CDATA section');
      i = xml.indexOf('<', end);
      continue;
    }
    if (c === 47 /* / */) {
      const end = xml.indexOf('>', i + 2);
      if (end === -1) throw malformed('unterminated end tag');
      const name = xml.slice(i + 2, end).trimEnd();
      if (stack.pop() !== name) throw malformed(`unexpected </${name.slice(0, 40)}>`);
      if (orgTextFrom !== -1 && stack.length === 3) {
        organizationId = xml.slice(orgTextFrom, i).trim();
        orgTextFrom = -1;
      }
      i = xml.indexOf('<', end + 1);
      continue;
    }
    // A start tag: its name, then name="value" pairs up to > or />.
    let j = i + 1;
    while (j < n && !isNameEnd(xml.charCodeAt(j))) j++;
    const name = xml.slice(i + 1, j);
    if (!name) throw malformed('empty tag name');
    if (++elements > limits.maxElements) throw new OutboundMessageError(`more than ${limits.maxElements} elements`, 'limits');
    if (stack.length >= limits.maxDepth) throw new OutboundMessageError(`nested deeper than ${limits.maxDepth} levels`, 'limits');
    let own = 0;
    let selfClosing = false;
    for (;;) {
      while (j < n && isSpace(xml.charCodeAt(j))) j++;
      if (j >= n) throw malformed('unterminated start tag');
      const ch = xml.charCodeAt(j);
      if (ch === 62 /* > */) break;
      if (ch === 47 /* / */) {
        if (xml.charCodeAt(j + 1) !== 62) throw malformed('stray / in a start tag');
        selfClosing = true;
        j++;
        break;
      }
      // name = "value": the name ends at = or white space; a < > or / before it is not an attribute.
      let eq = j;
      while (eq < n && !isNameEnd(xml.charCodeAt(eq)) && xml.charCodeAt(eq) !== 61 /* = */ && xml.charCodeAt(eq) !== 60 /* < */) eq++;
      if (eq === j) throw malformed('attribute without a name');
      while (eq < n && isSpace(xml.charCodeAt(eq))) eq++;
      if (xml.charCodeAt(eq) !== 61) throw malformed('attribute without a value');
      let q = eq + 1;
      while (q < n && isSpace(xml.charCodeAt(q))) q++;
      const quote = xml[q];
      if (quote !== '"' && quote !== "'") throw malformed('unquoted attribute value');
      const close = xml.indexOf(quote, q + 1);
      if (close === -1) throw malformed('unterminated attribute value');
      if (++own > limits.maxAttributesPerElement)
        throw new OutboundMessageError(`more than ${limits.maxAttributesPerElement} attributes on one element`, 'limits');
      if (++attributes > limits.maxAttributes) throw new OutboundMessageError(`more than ${limits.maxAttributes} attributes`, 'limits');
      j = close + 1;
    }
    const depth = stack.length;
    if (depth === 3 && stack.every((s, k) => localName(s) === PATH[k])) {
      const local = localName(name);
      if (local === 'Notification' && ++notificationCount > MAX_NOTIFICATIONS) {
        throw new OutboundMessageError(`more than ${MAX_NOTIFICATIONS} notifications in one message`, 'limits');
      }
      if (local === 'OrganizationId') {
        if (organizationId !== undefined || orgTextFrom !== -1) throw new OutboundMessageError('more than one OrganizationId', 'invalid');
        if (selfClosing) organizationId = '';
        else orgTextFrom = j + 1;
      }
    }
    if (!selfClosing) stack.push(name);
    i = xml.indexOf('<', j + 1);
  }
  if (stack.length) throw malformed(`<${stack[stack.length - 1]!.slice(0, 40)}> is not closed`);
  return { organizationId, notificationCount };
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  // Entities are never expanded: DOCTYPEs are refused before parsing, and &lt; style entities
  // are decoded by processEntities below for text values only.
  processEntities: true,
  htmlEntities: false,
  removeNSPrefix: false,
  isArray: (name) => name === 'Notification' || name.endsWith(':Notification'),
  // No path strings built per element for callbacks that do not use them (a measurable share of the parse).
  jPath: false,
});

type XmlNode = Record<string, unknown>;

function localName(key: string): string {
  return key.slice(key.indexOf(':') + 1);
}
const prefixOf = (key: string): string => (key.includes(':') ? key.slice(0, key.indexOf(':')) : '');

/** Namespace URI of an element key, looking up xmlns declarations on it and its ancestors. */
function namespaceOf(key: string, node: XmlNode, scopes: XmlNode[]): string | undefined {
  const prefix = prefixOf(key);
  const attr = prefix ? `@xmlns:${prefix}` : '@xmlns';
  for (const scope of [node, ...scopes]) {
    const v = scope?.[attr];
    if (typeof v === 'string') return v;
  }
  return undefined;
}

function child(node: XmlNode, name: string): [string, unknown] | undefined {
  for (const [k, v] of Object.entries(node)) {
    if (!k.startsWith('@') && localName(k) === name) return [k, v];
  }
  return undefined;
}

function text(node: XmlNode, name: string, required: boolean): string | null {
  const found = child(node, name);
  if (!found) {
    if (required) throw new OutboundMessageError(`missing ${name}`);
    return null;
  }
  const v = found[1];
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object') {
    const n = v as XmlNode;
    if (n['@xsi:nil'] === 'true') return null;
    if (typeof n['#text'] === 'string') return n['#text'];
    if (Object.keys(n).every((k) => k.startsWith('@'))) return '';
  }
  if (required) throw new OutboundMessageError(`${name} is not a text element`);
  return null;
}

/**
 * Parse a Salesforce Outbound Message envelope (reference/salesforce.md 1.2). Strict about what
 * matters (namespaces, record and notification ids, 1–100 notifications), tolerant of prefix choices
 * and xsi:nil; ids the broker does not use (ActionId) are taken as sent. Refuses DTDs outright:
 * entity expansion and external entities cannot happen. With `organizationId`, a message of another
 * org is refused after the cheap scan, before the XML parser runs.
 */
export function parseOutboundMessage(xml: string, options: { organizationId?: string; limits?: OutboundLimits } = {}): OutboundMessage {
  const scan = scanOutboundMessage(xml, options.limits);
  if (scan.organizationId === undefined) throw new OutboundMessageError('missing OrganizationId');
  if (options.organizationId !== undefined && !sameSalesforceId(scan.organizationId, options.organizationId)) {
    throw new OutboundMessageError('organization id does not match this endpoint', 'wrong-org');
  }
  if (scan.notificationCount === 0) throw new OutboundMessageError('no Notification elements');
  let doc: XmlNode;
  try {
    doc = parser.parse(xml, true) as XmlNode;
  } catch (err) {
    throw new OutboundMessageError(`malformed XML: ${(err as Error).message.split('\n')[0]}`, 'malformed');
  }
  const envEntry = Object.entries(doc).find(([k]) => !k.startsWith('?') && localName(k) === 'Envelope');
  if (!envEntry || typeof envEntry[1] !== 'object') throw new OutboundMessageError('not a SOAP envelope');
  const envelope = envEntry[1] as XmlNode;
  if (namespaceOf(envEntry[0], envelope, []) !== SOAP_ENV_NS) throw new OutboundMessageError('Envelope is not in the SOAP 1.1 namespace');

  const bodyEntry = child(envelope, 'Body');
  if (!bodyEntry || typeof bodyEntry[1] !== 'object') throw new OutboundMessageError('missing SOAP Body');
  const body = bodyEntry[1] as XmlNode;
  if (namespaceOf(bodyEntry[0], body, [envelope]) !== SOAP_ENV_NS) throw new OutboundMessageError('Body is not in the SOAP 1.1 namespace');

  const notifEntry = child(body, 'notifications');
  if (!notifEntry || typeof notifEntry[1] !== 'object') throw new OutboundMessageError('missing notifications element');
  const notifications = notifEntry[1] as XmlNode;
  if (namespaceOf(notifEntry[0], notifications, [body, envelope]) !== OUTBOUND_NS) {
    throw new OutboundMessageError(`notifications must be in namespace ${OUTBOUND_NS}`);
  }

  const organizationId = text(notifications, 'OrganizationId', true)!;
  const actionId = text(notifications, 'ActionId', true)!;
  if (!isSalesforceId(organizationId)) throw new OutboundMessageError('OrganizationId is not a Salesforce id');

  const list = child(notifications, 'Notification')?.[1];
  const items = (Array.isArray(list) ? list : list ? [list] : []) as XmlNode[];
  if (items.length === 0) throw new OutboundMessageError('no Notification elements');
  if (items.length > MAX_NOTIFICATIONS) throw new OutboundMessageError(`more than ${MAX_NOTIFICATIONS} notifications in one message`);

  const seen = new Set<string>();
  const parsed = items.map((n, index) => {
    if (!n || typeof n !== 'object') throw new OutboundMessageError(`Notification ${index + 1} is empty`);
    const id = text(n, 'Id', true)!;
    if (!isSalesforceId(id)) throw new OutboundMessageError(`Notification ${index + 1} Id is not a Salesforce id`);
    const sEntry = child(n, 'sObject');
    if (!sEntry || typeof sEntry[1] !== 'object') throw new OutboundMessageError(`Notification ${index + 1} has no sObject`);
    const sObject = sEntry[1] as XmlNode;
    const xsiType = sObject['@xsi:type'];
    const sObjectType = typeof xsiType === 'string' ? localName(xsiType) : '';
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(sObjectType))
      throw new OutboundMessageError(`Notification ${index + 1} sObject has no valid xsi:type`);
    const fields: Record<string, string | null> = {};
    for (const [k, v] of Object.entries(sObject)) {
      if (k.startsWith('@') || k.startsWith('#')) continue;
      const name = localName(k);
      if (typeof v === 'string') fields[name] = v;
      else if (v && typeof v === 'object' && !Array.isArray(v)) {
        const node = v as XmlNode;
        fields[name] = node['@xsi:nil'] === 'true' ? null : typeof node['#text'] === 'string' ? node['#text'] : '';
      }
    }
    const rawId = fields.Id;
    if (!rawId || !isSalesforceId(rawId)) throw new OutboundMessageError(`Notification ${index + 1} sObject has no valid Id`);
    const key = toId18(id);
    if (seen.has(key)) throw new OutboundMessageError(`Notification id ${id} appears twice`);
    seen.add(key);
    return { id: key, sObjectType, sfId: toId18(rawId), fields };
  });

  return {
    organizationId: toId18(organizationId),
    actionId,
    sessionId: text(notifications, 'SessionId', false),
    enterpriseUrl: text(notifications, 'EnterpriseUrl', false) ?? '',
    partnerUrl: text(notifications, 'PartnerUrl', false) ?? '',
    notifications: parsed,
  };
}

/** The acknowledgement Salesforce requires (reference 1.3): sent only after the jobs are stored. */
export const ACK_ENVELOPE =
  '<?xml version="1.0" encoding="UTF-8"?>' +
  `<soapenv:Envelope xmlns:soapenv="${SOAP_ENV_NS}">` +
  '<soapenv:Body>' +
  `<notificationsResponse xmlns="${OUTBOUND_NS}"><Ack>true</Ack></notificationsResponse>` +
  '</soapenv:Body></soapenv:Envelope>';

const escapeXml = (s: string): string =>
  s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);

/** A SOAP 1.1 fault (HTTP 500): Salesforce treats it as a failed delivery and retries. */
export function soapFault(code: 'Client' | 'Server', message: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<soapenv:Envelope xmlns:soapenv="${SOAP_ENV_NS}"><soapenv:Body><soapenv:Fault>` +
    `<faultcode>soapenv:${code}</faultcode><faultstring>${escapeXml(message)}</faultstring>` +
    '</soapenv:Fault></soapenv:Body></soapenv:Envelope>'
  );
}

/** Build an Outbound Message envelope (used by the simulator, tests and benchmarks). */
export function buildOutboundMessage(
  message: Omit<OutboundMessage, 'notifications'> & {
    notifications: { id: string; sObjectType: string; fields: Record<string, string | null | undefined> }[];
  },
): string {
  const n = message.notifications
    .map((item) => {
      const fields = Object.entries(item.fields)
        .filter(([, v]) => v !== null && v !== undefined)
        .map(([k, v]) => `<sf:${k}>${escapeXml(String(v))}</sf:${k}>`)
        .join('');
      return `<Notification><Id>${item.id}</Id><sObject xsi:type="sf:${item.sObjectType}" xmlns:sf="${SOBJECT_NS}">${fields}</sObject></Notification>`;
    })
    .join('');
  const session = message.sessionId ? `<SessionId>${escapeXml(message.sessionId)}</SessionId>` : '<SessionId xsi:nil="true"/>';
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<soapenv:Envelope xmlns:soapenv="${SOAP_ENV_NS}" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
    `<soapenv:Body><notifications xmlns="${OUTBOUND_NS}">` +
    `<OrganizationId>${message.organizationId}</OrganizationId><ActionId>${message.actionId}</ActionId>${session}` +
    `<EnterpriseUrl>${escapeXml(message.enterpriseUrl)}</EnterpriseUrl><PartnerUrl>${escapeXml(message.partnerUrl)}</PartnerUrl>` +
    `${n}</notifications></soapenv:Body></soapenv:Envelope>`
  );
}

/**
 * The WSDL of the broker's endpoint for one object (served at `?wsdl`): what Salesforce's
 * "Click for WSDL" gives, with the broker's URL as the service location.
 */
export function outboundMessageWsdl(options: { sObjectType: string; fields: string[]; location: string }): string {
  const t = options.sObjectType;
  const fields = ['Id', ...options.fields.filter((f) => f !== 'Id')]
    .map((f) => `<element name="${f}" nillable="true" minOccurs="0" type="xsd:string"/>`)
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>
<definitions targetNamespace="${OUTBOUND_NS}" xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:ent="urn:enterprise.soap.sforce.com" xmlns:ens="${SOBJECT_NS}" xmlns:tns="${OUTBOUND_NS}">
<types>
<schema elementFormDefault="qualified" xmlns="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:enterprise.soap.sforce.com"><simpleType name="ID"><restriction base="xsd:string"><length value="18"/><pattern value="[a-zA-Z0-9]{18}"/></restriction></simpleType></schema>
<schema elementFormDefault="qualified" xmlns="http://www.w3.org/2001/XMLSchema" targetNamespace="${SOBJECT_NS}"><complexType name="sObject"><sequence><element name="Id" type="ent:ID" nillable="true" minOccurs="0"/></sequence></complexType><complexType name="${t}"><complexContent><extension base="ens:sObject"><sequence>${fields}</sequence></extension></complexContent></complexType></schema>
<schema elementFormDefault="qualified" xmlns="http://www.w3.org/2001/XMLSchema" targetNamespace="${OUTBOUND_NS}">
<element name="notifications"><complexType><sequence><element name="OrganizationId" type="ent:ID"/><element name="ActionId" type="ent:ID"/><element name="SessionId" type="xsd:string" nillable="true"/><element name="EnterpriseUrl" type="xsd:string"/><element name="PartnerUrl" type="xsd:string"/><element name="Notification" maxOccurs="100" type="tns:${t}Notification"/></sequence></complexType></element>
<complexType name="${t}Notification"><sequence><element name="Id" type="ent:ID"/><element name="sObject" type="ens:${t}"/></sequence></complexType>
<element name="notificationsResponse"><complexType><sequence><element name="Ack" type="xsd:boolean"/></sequence></complexType></element>
</schema>
</types>
<message name="notificationsRequest"><part element="tns:notifications" name="request"/></message>
<message name="notificationsResponse"><part element="tns:notificationsResponse" name="response"/></message>
<portType name="NotificationPort"><operation name="notifications"><input message="tns:notificationsRequest"/><output message="tns:notificationsResponse"/></operation></portType>
<binding name="NotificationBinding" type="tns:NotificationPort"><soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/><operation name="notifications"><soap:operation soapAction=""/><input><soap:body use="literal"/></input><output><soap:body use="literal"/></output></operation></binding>
<service name="NotificationService"><port binding="tns:NotificationBinding" name="Notification"><soap:address location="${escapeXml(options.location)}"/></port></service>
</definitions>`;
}
