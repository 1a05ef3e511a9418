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

function localName(key: string): string {
  return key.slice(key.indexOf(':') + 1);
}
const prefixOf = (name: string): string => {
  const colon = name.indexOf(':');
  return colon === -1 ? '' : name.slice(0, colon);
};

const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
/** An XML name (optionally prefixed): letters, digits and . - _ · after a letter or _. */
const XML_NAME = /^[\p{L}_][\p{L}\p{N}_.\-\u00B7]*(?::[\p{L}_][\p{L}\p{N}_.\-\u00B7]*)?$/u;
/** An ASCII XML name (the common case), checked by char codes; anything else goes to {@link XML_NAME}. */
function isXmlName(name: string): boolean {
  const len = name.length;
  if (len === 0) return false;
  let colon = -1;
  for (let k = 0; k < len; k++) {
    const c = name.charCodeAt(k);
    const letter = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
    if (letter) continue;
    if (c >= 128) return XML_NAME.test(name);
    if (c === 58 /* : */) {
      if (colon !== -1 || k === 0 || k === len - 1) return false;
      colon = k;
      continue;
    }
    const digitOrPunct = (c >= 48 && c <= 57) || c === 45 || c === 46;
    if (!digitOrPunct || k === 0 || k === colon + 1) return false;
  }
  return true;
}
/** Salesforce API names of objects and fields. */
const API_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };
const REFERENCE = /&(?:#(\d{1,7})|#x([0-9A-Fa-f]{1,6})|([\p{L}_][\p{L}\p{N}_.\-]*));/uy;

/**
 * Character data with its references decoded: the five predefined entities and numeric character
 * references. Any other well-formed `&name;` is kept as written (there is no DTD to define it); a
 * bare `&` or a reference to a code point XML forbids is malformed.
 */
function decodeText(raw: string): string {
  let amp = raw.indexOf('&');
  if (amp === -1) return raw;
  let out = '';
  let from = 0;
  while (amp !== -1) {
    REFERENCE.lastIndex = amp;
    const m = REFERENCE.exec(raw);
    if (!m) throw new OutboundMessageError('malformed XML: a bare & in text', 'malformed');
    let decoded: string;
    if (m[3] !== undefined) decoded = PREDEFINED[m[3]] ?? m[0];
    else {
      const code = m[1] !== undefined ? Number(m[1]) : parseInt(m[2]!, 16);
      const allowed =
        code === 9 ||
        code === 10 ||
        code === 13 ||
        (code >= 0x20 && code <= 0xd7ff) ||
        (code >= 0xe000 && code <= 0xfffd) ||
        (code >= 0x10000 && code <= 0x10ffff);
      if (!allowed) throw new OutboundMessageError(`malformed XML: character reference ${m[0]} is not allowed`, 'malformed');
      decoded = String.fromCodePoint(code);
    }
    out += raw.slice(from, amp) + decoded;
    from = amp + m[0].length;
    amp = raw.indexOf('&', from);
  }
  return out + raw.slice(from);
}

/** What the reader keeps of an open element. */
interface Frame {
  name: string;
  /** xmlns declarations on this element (prefix → URI, '' for the default namespace). */
  ns: Map<string, string> | undefined;
  role: Role;
  /** Direct character data, for the elements whose text is read. */
  text: string;
  nil: boolean;
  /** Child elements seen (a text element with children is not plain text). */
  children: number;
}

const enum Role {
  Other,
  Envelope,
  Body,
  Notifications,
  /** OrganizationId, ActionId, SessionId, EnterpriseUrl, PartnerUrl. */
  HeaderText,
  Notification,
  NotificationId,
  SObject,
  Field,
}

const HEADER_TEXT = new Set(['OrganizationId', 'ActionId', 'SessionId', 'EnterpriseUrl', 'PartnerUrl']);

interface NotificationDraft {
  index: number;
  id: string | null | undefined;
  sObjectType: string | undefined;
  fields: Record<string, string | null> | undefined;
  repeated: Set<string> | undefined;
}

function namespaceOf(name: string, stack: Frame[], own: Map<string, string> | undefined): string | undefined {
  const prefix = prefixOf(name);
  const found = own?.get(prefix);
  if (found !== undefined) return found;
  for (let k = stack.length - 1; k >= 0; k--) {
    const v = stack[k]!.ns?.get(prefix);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** An xsi:nil / xsi:type attribute: its prefix bound to the XML Schema instance namespace (or the usual `xsi` left undeclared). */
function isXsi(attr: string, local: string, stack: Frame[], own: Map<string, string> | undefined): boolean {
  if (localName(attr) !== local || !attr.includes(':')) return false;
  const ns = namespaceOf(attr, stack, own);
  return ns === XSI_NS || (ns === undefined && prefixOf(attr) === 'xsi');
}

/**
 * The reader behind {@link parseOutboundMessage}: one pass over a document {@link scanOutboundMessage}
 * has already bounded and balanced, reading only the known shape (reference/salesforce.md 1.2):
 * Envelope › Body › notifications › (OrganizationId, ActionId, SessionId, EnterpriseUrl, PartnerUrl,
 * Notification › (Id, sObject › fields)). No tree is built: the notifications are assembled as
 * their elements close. Still a well-formedness check of its own: names, attribute syntax and
 * uniqueness, references, a single root, no text outside it.
 */
function readOutboundMessage(xml: string): OutboundMessage {
  const malformed = (what: string) => new OutboundMessageError(`malformed XML: ${what}`, 'malformed');
  const stack: Frame[] = [];
  const header: Record<string, string | null> = {};
  const notifications: OutboundNotification[] = [];
  const seenIds = new Set<string>();
  let roots = 0;
  let body = false;
  let notificationsSeen = false;
  let draft: NotificationDraft | undefined;
  let count = 0;
  const n = xml.length;
  let textFrom = 0;
  let i = xml.indexOf('<');

  /** Character data between tags: kept for a text element, white space only outside the root. */
  const takeText = (to: number) => {
    if (to <= textFrom) return;
    const top = stack[stack.length - 1];
    if (!top) {
      if (xml.slice(textFrom, to).trim() !== '') throw malformed('text outside the root element');
      return;
    }
    if (top.role >= Role.HeaderText && top.role !== Role.Notification && top.role !== Role.SObject)
      top.text += decodeText(xml.slice(textFrom, to));
    else if (xml.indexOf('&', textFrom) !== -1 && xml.indexOf('&', textFrom) < to) decodeText(xml.slice(textFrom, to));
  };

  const textValue = (f: Frame, what: string, required: boolean): string | null => {
    if (f.nil) return null;
    const v = f.text.trim();
    if (f.children > 0 && v === '') {
      if (required) throw new OutboundMessageError(`${what} is not a text element`);
      return null;
    }
    return v;
  };

  const close = (f: Frame) => {
    switch (f.role) {
      case Role.HeaderText: {
        const local = localName(f.name);
        header[local] = textValue(f, local, local === 'OrganizationId' || local === 'ActionId');
        break;
      }
      case Role.NotificationId:
        draft!.id = textValue(f, 'Id', true);
        break;
      case Role.Field: {
        const d = draft!;
        const name = localName(f.name);
        // A field sent twice is ambiguous: neither value is kept (as a tree parser turning it into a list did).
        if (d.repeated?.has(name)) break;
        if (Object.prototype.hasOwnProperty.call(d.fields, name)) {
          delete d.fields![name];
          (d.repeated ??= new Set()).add(name);
          break;
        }
        d.fields![name] = f.nil ? null : f.text.trim();
        break;
      }
      case Role.Notification: {
        const d = draft!;
        draft = undefined;
        const at = `Notification ${d.index}`;
        if (f.children === 0) throw new OutboundMessageError(`${at} is empty`);
        if (d.id === undefined) throw new OutboundMessageError('missing Id');
        if (!d.id || !isSalesforceId(d.id)) throw new OutboundMessageError(`${at} Id is not a Salesforce id`);
        if (!d.fields) throw new OutboundMessageError(`${at} has no sObject`);
        if (!d.sObjectType || !API_NAME.test(d.sObjectType)) throw new OutboundMessageError(`${at} sObject has no valid xsi:type`);
        const rawId = d.fields.Id;
        if (!rawId || !isSalesforceId(rawId)) throw new OutboundMessageError(`${at} sObject has no valid Id`);
        const key = toId18(d.id);
        if (seenIds.has(key)) throw new OutboundMessageError(`Notification id ${d.id} appears twice`);
        seenIds.add(key);
        notifications.push({ id: key, sObjectType: d.sObjectType, sfId: toId18(rawId), fields: d.fields });
        break;
      }
    }
  };

  while (i !== -1) {
    takeText(i);
    const c = xml.charCodeAt(i + 1);
    if (c === 63 /* ? */) {
      const end = xml.indexOf('?>', i + 2);
      if (end === -1) throw malformed('unterminated processing instruction');
      textFrom = end + 2;
      i = xml.indexOf('<', textFrom);
      continue;
    }
    if (c === 33 /* ! */) {
      if (xml.startsWith('<!--', i)) {
        const end = xml.indexOf('-->', i + 4);
        if (end === -1) throw malformed('unterminated comment');
        textFrom = end + 3;
      } else if (xml.startsWith('<![CDATA[', i)) {
        const end = xml.indexOf(']]>', i + 9);
        if (end === -1) throw malformed('unterminated CDATA section');
        const top = stack[stack.length - 1];
        if (!top) throw malformed('CDATA outside the root element');
        if (top.role >= Role.HeaderText && top.role !== Role.Notification && top.role !== Role.SObject) top.text += xml.slice(i + 9, end);
        textFrom = end + 3;
      } else throw new OutboundMessageError('DTDs and entity declarations are not allowed', 'malformed');
      i = xml.indexOf('<', textFrom);
      continue;
    }
    if (c === 47 /* / */) {
      const end = xml.indexOf('>', i + 2);
      if (end === -1) throw malformed('unterminated end tag');
      const name = xml.slice(i + 2, end).trimEnd();
      const f = stack.pop();
      if (!f || f.name !== name) throw malformed(`unexpected </${name.slice(0, 40)}>`);
      close(f);
      textFrom = end + 1;
      i = xml.indexOf('<', textFrom);
      continue;
    }

    // A start tag.
    let j = i + 1;
    while (j < n && !isNameEnd(xml.charCodeAt(j))) j++;
    const name = xml.slice(i + 1, j);
    if (!isXmlName(name)) throw malformed(`invalid element name <${name.slice(0, 40)}>`);
    let ns: Map<string, string> | undefined;
    let attrs: string[] | undefined;
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
      let eq = j;
      while (eq < n && !isNameEnd(xml.charCodeAt(eq)) && xml.charCodeAt(eq) !== 61 /* = */) eq++;
      const attr = xml.slice(j, eq);
      if (!isXmlName(attr)) throw malformed(`invalid attribute name ${attr.slice(0, 40)}`);
      while (eq < n && isSpace(xml.charCodeAt(eq))) eq++;
      if (xml.charCodeAt(eq) !== 61) throw malformed('attribute without a value');
      let q = eq + 1;
      while (q < n && isSpace(xml.charCodeAt(q))) q++;
      const quote = xml[q];
      if (quote !== '"' && quote !== "'") throw malformed('unquoted attribute value');
      const closeQuote = xml.indexOf(quote, q + 1);
      if (closeQuote === -1) throw malformed('unterminated attribute value');
      const raw = xml.slice(q + 1, closeQuote);
      if (raw.includes('<')) throw malformed('< in an attribute value');
      const value = decodeText(raw);
      if (attrs) {
        for (let k = 0; k < attrs.length; k += 2) if (attrs[k] === attr) throw malformed(`attribute ${attr.slice(0, 40)} is repeated`);
        attrs.push(attr, value);
      } else attrs = [attr, value];
      if (attr === 'xmlns' || attr.startsWith('xmlns:')) (ns ??= new Map()).set(attr === 'xmlns' ? '' : attr.slice(6), value);
      j = closeQuote + 1;
    }

    const parent = stack[stack.length - 1];
    if (parent) parent.children++;
    else if (++roots > 1) throw malformed('more than one root element');
    const local = localName(name);
    let role = Role.Other;
    let nil = false;
    switch (parent?.role) {
      case undefined:
        if (local !== 'Envelope') throw new OutboundMessageError('not a SOAP envelope');
        if (namespaceOf(name, stack, ns) !== SOAP_ENV_NS) throw new OutboundMessageError('Envelope is not in the SOAP 1.1 namespace');
        role = Role.Envelope;
        break;
      case Role.Envelope:
        if (local !== 'Body') break;
        if (body) throw new OutboundMessageError('more than one SOAP Body');
        if (namespaceOf(name, stack, ns) !== SOAP_ENV_NS) throw new OutboundMessageError('Body is not in the SOAP 1.1 namespace');
        body = true;
        role = Role.Body;
        break;
      case Role.Body:
        if (local !== 'notifications') break;
        if (notificationsSeen) throw new OutboundMessageError('more than one notifications element');
        if (namespaceOf(name, stack, ns) !== OUTBOUND_NS)
          throw new OutboundMessageError(`notifications must be in namespace ${OUTBOUND_NS}`);
        notificationsSeen = true;
        role = Role.Notifications;
        break;
      case Role.Notifications:
        if (local === 'Notification') {
          if (++count > MAX_NOTIFICATIONS) throw new OutboundMessageError(`more than ${MAX_NOTIFICATIONS} notifications in one message`);
          draft = { index: count, id: undefined, sObjectType: undefined, fields: undefined, repeated: undefined };
          role = Role.Notification;
        } else if (HEADER_TEXT.has(local)) {
          if (local in header) throw new OutboundMessageError(`more than one ${local}`);
          header[local] = null;
          role = Role.HeaderText;
        }
        break;
      case Role.Notification:
        if (local === 'Id') {
          if (draft!.id !== undefined) throw new OutboundMessageError(`Notification ${draft!.index} has more than one Id`);
          draft!.id = null;
          role = Role.NotificationId;
        } else if (local === 'sObject') {
          if (draft!.fields) throw new OutboundMessageError(`Notification ${draft!.index} has more than one sObject`);
          draft!.fields = {};
          for (let k = 0; attrs && k < attrs.length; k += 2)
            if (isXsi(attrs[k]!, 'type', stack, ns)) draft!.sObjectType = localName(attrs[k + 1]!);
          role = Role.SObject;
        }
        break;
      case Role.SObject:
        if (!API_NAME.test(local)) throw new OutboundMessageError(`Notification ${draft!.index} has a field named ${local.slice(0, 40)}`);
        role = Role.Field;
        break;
    }
    if (role >= Role.HeaderText && role !== Role.Notification && role !== Role.SObject && attrs) {
      for (let k = 0; k < attrs.length; k += 2) if (isXsi(attrs[k]!, 'nil', stack, ns) && attrs[k + 1] === 'true') nil = true;
    }
    const frame: Frame = { name, ns, role, text: '', nil, children: 0 };
    if (selfClosing) close(frame);
    else stack.push(frame);
    textFrom = j + 1;
    i = xml.indexOf('<', textFrom);
  }
  takeText(n);
  if (stack.length) throw malformed(`<${stack[stack.length - 1]!.name.slice(0, 40)}> is not closed`);
  if (roots === 0) throw new OutboundMessageError('not a SOAP envelope');
  if (!body) throw new OutboundMessageError('missing SOAP Body');
  if (!notificationsSeen) throw new OutboundMessageError('missing notifications element');
  const organizationId = header.OrganizationId;
  const actionId = header.ActionId;
  if (organizationId === undefined || organizationId === null) throw new OutboundMessageError('missing OrganizationId');
  if (actionId === undefined || actionId === null) throw new OutboundMessageError('missing ActionId');
  if (!isSalesforceId(organizationId)) throw new OutboundMessageError('OrganizationId is not a Salesforce id');
  if (notifications.length === 0) throw new OutboundMessageError('no Notification elements');
  return {
    organizationId: toId18(organizationId),
    actionId,
    sessionId: header.SessionId ?? null,
    enterpriseUrl: header.EnterpriseUrl ?? '',
    partnerUrl: header.PartnerUrl ?? '',
    notifications,
  };
}

/**
 * Parse a Salesforce Outbound Message envelope (reference/salesforce.md 1.2). Strict about what
 * matters (namespaces, record and notification ids, 1–100 notifications), tolerant of prefix choices
 * and xsi:nil; ids the broker does not use (ActionId) are taken as sent. Refuses DTDs outright:
 * entity expansion and external entities cannot happen. With `organizationId`, a message of another
 * org is refused after the cheap scan, before anything is read out of it.
 */
export function parseOutboundMessage(xml: string, options: { organizationId?: string; limits?: OutboundLimits } = {}): OutboundMessage {
  const scan = scanOutboundMessage(xml, options.limits);
  if (scan.organizationId === undefined) throw new OutboundMessageError('missing OrganizationId');
  if (options.organizationId !== undefined && !sameSalesforceId(scan.organizationId, options.organizationId)) {
    throw new OutboundMessageError('organization id does not match this endpoint', 'wrong-org');
  }
  if (scan.notificationCount === 0) throw new OutboundMessageError('no Notification elements');
  return readOutboundMessage(xml);
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
