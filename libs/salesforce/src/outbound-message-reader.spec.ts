// The Outbound Message reader (parseOutboundMessage without a tree) against an outside referee:
// fast-xml-parser, a general XML parser, driven as the broker drove it before the reader (the tree
// walk below is that code). Same input, same notifications or the same refusal; real captures,
// the shapes Salesforce and SOAP toolkits produce, and what an attacker sends.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import {
  buildOutboundMessage,
  OUTBOUND_NS,
  OutboundMessageError,
  parseOutboundMessage,
  scanOutboundMessage,
  SOAP_ENV_NS,
  type OutboundMessage,
} from './outbound-message';
import { isSalesforceId, makeId, toId18 } from './sf-id';

// ---------------------------------------------------------------------------------------------
// The referee: fast-xml-parser's tree, walked as the broker did until the reader replaced it.

const fxp = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  htmlEntities: false,
  removeNSPrefix: false,
  isArray: (name) => name === 'Notification' || name.endsWith(':Notification'),
});
type XmlNode = Record<string, unknown>;
const localName = (key: string) => key.slice(key.indexOf(':') + 1);
const prefixOf = (key: string) => (key.includes(':') ? key.slice(0, key.indexOf(':')) : '');
function namespaceOf(key: string, node: XmlNode, scopes: XmlNode[]): string | undefined {
  const attr = prefixOf(key) ? `@xmlns:${prefixOf(key)}` : '@xmlns';
  for (const scope of [node, ...scopes]) if (typeof scope?.[attr] === 'string') return scope[attr];
  return undefined;
}
function child(node: XmlNode, name: string): [string, unknown] | undefined {
  for (const [k, v] of Object.entries(node)) if (!k.startsWith('@') && localName(k) === name) return [k, v];
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
function refereeParse(xml: string): OutboundMessage {
  scanOutboundMessage(xml);
  const doc = fxp.parse(xml, true) as XmlNode;
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
  if (namespaceOf(notifEntry[0], notifications, [body, envelope]) !== OUTBOUND_NS)
    throw new OutboundMessageError('notifications namespace');
  const organizationId = text(notifications, 'OrganizationId', true)!;
  const actionId = text(notifications, 'ActionId', true)!;
  if (!isSalesforceId(organizationId)) throw new OutboundMessageError('OrganizationId is not a Salesforce id');
  const list = child(notifications, 'Notification')?.[1];
  const items = (Array.isArray(list) ? list : list ? [list] : []) as XmlNode[];
  if (items.length === 0) throw new OutboundMessageError('no Notification elements');
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
      if (typeof v === 'string') fields[localName(k)] = v;
      else if (v && typeof v === 'object' && !Array.isArray(v)) {
        const node = v as XmlNode;
        fields[localName(k)] = node['@xsi:nil'] === 'true' ? null : typeof node['#text'] === 'string' ? node['#text'] : '';
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

/** Both parsers on one input: the same message, or both refuse it. */
function agree(xml: string): OutboundMessage | undefined {
  let expected: OutboundMessage | undefined;
  let refereeError: unknown;
  try {
    expected = refereeParse(xml);
  } catch (err) {
    refereeError = err;
  }
  if (expected) {
    expect(parseOutboundMessage(xml)).toEqual(expected);
    return expected;
  }
  expect(() => parseOutboundMessage(xml), `the referee refused it: ${(refereeError as Error).message}`).toThrow(OutboundMessageError);
  return undefined;
}

// ---------------------------------------------------------------------------------------------

const fixtures = path.join(import.meta.dirname, 'fixtures');
const captures = readdirSync(fixtures)
  .filter((f) => f.endsWith('.xml'))
  .map((f) => [f, readFileSync(path.join(fixtures, f), 'utf8')] as const);
/** The publisher anonymised the ids (00Dxx…): recompute each checksum so the capture reads as a live org's. */
const withChecksums = (xml: string) => xml.replace(/>([a-zA-Z0-9]{15})[a-zA-Z0-9]{3}</g, (_m, id15: string) => `>${toId18(id15)}<`);

const org = makeId('00D', 1);
const base = { organizationId: org, actionId: makeId('04k', 1), sessionId: null, enterpriseUrl: 'https://x/c', partnerUrl: 'https://x/u' };
const built = (n: number, fields: (i: number) => Record<string, string | null> = (i) => ({ Id: makeId('500', i), Status: 'New' })) =>
  buildOutboundMessage({
    ...base,
    notifications: Array.from({ length: n }, (_, i) => ({ id: makeId('04l', i + 1), sObjectType: 'Case', fields: fields(i + 1) })),
  });

describe('Outbound Message reader against fast-xml-parser', () => {
  it.each(captures)('reads the real capture %s as the referee does (as published, and with valid checksums)', (_name, xml) => {
    agree(xml);
    const m = agree(withChecksums(xml));
    expect(m?.notifications.length).toBeGreaterThan(0);
    expect(m?.notifications[0]!.fields.CreatedDate).toMatch(/^2026-/);
  });

  it('reads the payload-capture fixture of the ingress (a namespace declared on every field) as the referee does', () => {
    const file = path.join(import.meta.dirname, '../../../apps/ingress/test/fixtures/captured/simulator-case-outbound-message.json');
    const body = (JSON.parse(readFileSync(file, 'utf8')) as { body: string }).body;
    expect(agree(body)?.notifications[0]!.fields.Status).toBe('New');
  });

  it.each([1, 2, 37, 100])('reads %i notifications as built by buildOutboundMessage', (n) => {
    expect(agree(built(n))?.notifications).toHaveLength(n);
  });

  const capture = withChecksums(captures.find(([f]) => f.includes('create-account'))![1]);
  it.each([
    ['indentation removed', capture.replace(/>\s+</g, '><')],
    ['CRLF line ends', capture.replace(/\n/g, '\r\n')],
    ['no XML declaration', capture.replace(/^<\?xml[^>]*>\s*/, '')],
    ['another SOAP prefix', capture.replace(/soapenv:/g, 'SOAP-ENV:').replace('xmlns:soapenv', 'xmlns:SOAP-ENV')],
    [
      'a prefixed notifications element',
      capture.replace('<notifications xmlns=', '<ns1:notifications xmlns:ns1=').replace('</notifications>', '</ns1:notifications>'),
    ],
    ['a default SOAP namespace', capture.replace(/soapenv:/g, '').replace('xmlns:soapenv', 'xmlns')],
    ['an empty SOAP Header', capture.replace('<soapenv:Body>', '<soapenv:Header/><soapenv:Body>')],
    ['a comment between elements', capture.replace('<sf:Id>', '<!-- a <b> & c --><sf:Id>')],
    ['a session id', capture.replace('<SessionId xsi:nil="true"/>', '<SessionId>00D!AQ4AQ.x&amp;y</SessionId>')],
    ['an explicit empty SessionId', capture.replace('<SessionId xsi:nil="true"/>', '<SessionId></SessionId>')],
    ['a nil field', capture.replace('<sf:CreatedDate>', '<sf:Description xsi:nil="true"/><sf:CreatedDate>')],
    ['an empty field', capture.replace('<sf:CreatedDate>', '<sf:Description></sf:Description><sf:CreatedDate>')],
    [
      'escaped text',
      capture.replace(
        '<sf:CreatedDate>',
        '<sf:Subject>Printer &amp; scanner &lt;3F&gt; &quot;x&quot; &apos;y&apos;</sf:Subject><sf:CreatedDate>',
      ),
    ],
    ['text around a CDATA section', capture.replace('<sf:CreatedDate>', '<sf:Subject>a<![CDATA[<b>&c]]>d</sf:Subject><sf:CreatedDate>')],
    ['non-ASCII text', capture.replace('<sf:CreatedDate>', '<sf:Subject>Zürich — 東京 😀</sf:Subject><sf:CreatedDate>')],
    ['padded text', capture.replace('<sf:CreatedDate>', '<sf:Subject>  spaced   out  </sf:Subject><sf:CreatedDate>')],
    ['single-quoted attributes', capture.replace(/"/g, "'")],
    ['white space around =', capture.replace('xsi:type="sf:Account"', 'xsi:type = "sf:Account"')],
    [
      'a field sent twice (neither value is kept)',
      capture.replace('<sf:CreatedDate>', '<sf:Status>a</sf:Status><sf:Status>b</sf:Status><sf:CreatedDate>'),
    ],
    ['a field with child elements', capture.replace('<sf:CreatedDate>', '<sf:Owner>x<sf:Name>n</sf:Name>y</sf:Owner><sf:CreatedDate>')],
    ['an unknown element among the notifications', capture.replace('<Notification>', '<Extra>1</Extra><Notification>')],
    ['an empty Notification', capture.replace('<Notification>', '<Notification/><Notification>')],
    ['a Notification without its sObject', capture.replace(/<sObject[\s\S]*<\/sObject>/, '')],
    ['a record id that is not an id', capture.replace(/<sf:Id>[^<]*/, '<sf:Id>nope')],
    ['an sObject without xsi:type', capture.replace(' xsi:type="sf:Account"', '')],
    ['an sObject type that is not an API name', capture.replace('sf:Account', 'sf:Acc-ount')],
    ['the wrong SOAP namespace', capture.replace(SOAP_ENV_NS, 'http://www.w3.org/2003/05/soap-envelope')],
    ['the wrong notifications namespace', capture.replace(OUTBOUND_NS, 'http://evil.example/ns')],
    ['no Body', capture.replace(/<soapenv:Body>[\s\S]*<\/soapenv:Body>/, '')],
    ['no ActionId', capture.replace(/<ActionId>[^<]*<\/ActionId>/, '')],
    ['a root that is not an Envelope', capture.replace(/soapenv:Envelope/g, 'soapenv:Letter')],
  ])('agrees on a capture with %s', (_name, xml) => {
    agree(xml);
  });

  it('agrees on 300 envelopes with random field values, sizes and nils', () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = ['a', 'Z', '0', ' ', '&', '<', '>', '"', "'", 'é', '東', '😀', '\t', ';', '#', 'x'];
    for (let k = 0; k < 300; k++) {
      const xml = built(1 + rnd(12), (i) => {
        const fields: Record<string, string | null> = { Id: makeId('500', i) };
        for (let f = 0; f < rnd(5); f++)
          fields[`F${f}__c`] = Array.from({ length: rnd(20) }, () => alphabet[rnd(alphabet.length)]).join('');
        return fields;
      });
      agree(xml);
    }
  });
});

describe('Outbound Message reader: where it is stricter or more exact than the referee', () => {
  const capture = withChecksums(captures.find(([f]) => f.includes('create-account'))![1]);
  const withField = (xml: string) => capture.replace('<sf:CreatedDate>', `${xml}<sf:CreatedDate>`);
  const read = (xml: string) => parseOutboundMessage(xml).notifications[0]!.fields;

  it('decodes numeric character references (fast-xml-parser without HTML entities left them as written)', () => {
    expect(read(withField('<sf:Subject>&#65;&#x42;&#x1F600;</sf:Subject>')).Subject).toBe('AB😀');
    expect(refereeParse(withField('<sf:Subject>&#65;</sf:Subject>')).notifications[0]!.fields.Subject).toBe('&#65;');
  });

  it('keeps an undeclared named entity as written, as the referee does', () => {
    expect(read(withField('<sf:Subject>a &nbsp; b</sf:Subject>')).Subject).toBe('a &nbsp; b');
  });

  it('reads xsi:type and xsi:nil under any prefix bound to the XML Schema instance namespace', () => {
    const xml = capture
      .replace('<sObject xsi:type=', '<sObject xmlns:i="http://www.w3.org/2001/XMLSchema-instance" i:type=')
      .replace('<sf:CreatedDate>', '<sf:Description i:nil="true"/><sf:CreatedDate>');
    const m = parseOutboundMessage(xml);
    expect(m.notifications[0]!.sObjectType).toBe('Account');
    expect(m.notifications[0]!.fields.Description).toBeNull();
    // A `type` attribute in another namespace is not the sObject's type.
    expect(() => parseOutboundMessage(capture.replace('xsi:type=', 'xmlns:o="urn:other" o:type="sf:Account" data-type='))).toThrow(
      /xsi:type/,
    );
  });

  it.each([
    ['a bare & in text', withField('<sf:Subject>a & b</sf:Subject>'), /bare &/],
    ['a reference to NUL', withField('<sf:Subject>&#0;</sf:Subject>'), /not allowed/],
    ['a reference beyond Unicode', withField('<sf:Subject>&#x110000;</sf:Subject>'), /malformed/],
    ['a repeated attribute', capture.replace('xsi:type="sf:Account"', 'xsi:type="sf:Account" xsi:type="sf:User"'), /repeated/],
    ['< in an attribute value', capture.replace('xsi:type="sf:Account"', 'xsi:type="sf:Account" x="a<b"'), /attribute value/],
    ['an element name with a quote', withField('<sf:Sub"ject>x</sf:Sub"ject>'), /invalid element name/],
    ['a second root element', `${capture}<soapenv:Envelope xmlns:soapenv="${SOAP_ENV_NS}"/>`, /more than one root/],
    ['text after the root element', `${capture}trailing`, /text outside the root/],
    ['a second Body', capture.replace('</soapenv:Body>', `</soapenv:Body><soapenv:Body/>`), /more than one SOAP Body/],
    ['a second ActionId', capture.replace('<SessionId', '<ActionId>04k000000000001AAA</ActionId><SessionId'), /more than one ActionId/],
    [
      'a Notification with two sObjects',
      capture.replace('</sObject>', '</sObject><sObject xsi:type="sf:User"><sf:Id>005000000000001AAA</sf:Id></sObject>'),
      /more than one sObject/,
    ],
    ['a field named __proto__', withField('<sf:__proto__>x</sf:__proto__>'), /field named __proto__/],
    ['a field named with a dot', withField('<sf:a.b>x</sf:a.b>'), /field named a.b/],
  ])('refuses %s', (_name, xml, pattern) => {
    expect(() => parseOutboundMessage(xml)).toThrow(pattern);
  });

  it('leaves Object.prototype alone whatever the field names', () => {
    for (const name of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      const fields = read(withField(`<sf:${name}>polluted</sf:${name}>`));
      expect(Object.prototype.hasOwnProperty.call(fields, name)).toBe(true);
      expect(fields[name]).toBe('polluted');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(typeof ({} as { toString: unknown }).toString).toBe('function');
  });

  it.each([
    [
      'an entity expansion attack',
      `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>${capture.replace(/^<\?xml[^>]*>/, '')}`,
      /DTD/,
    ],
    ['an external entity', `<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${capture.replace(/^<\?xml[^>]*>/, '')}`, /DTD/],
    ['a parameter entity inside the Body', capture.replace('<soapenv:Body>', '<soapenv:Body><!ENTITY % p "x">'), /DTD/],
    ['an unterminated CDATA section', withField('<sf:Subject><![CDATA[x</sf:Subject>'), /malformed/],
  ])('refuses %s before reading anything', (_name, xml, pattern) => {
    expect(() => parseOutboundMessage(xml)).toThrow(pattern);
  });

  it('stays linear on 60 KB of references, comments and CDATA in one field', () => {
    const body = '&amp;&#65;<!-- c --><![CDATA[x]]>'.repeat(1_500);
    const start = performance.now();
    expect(read(withField(`<sf:Subject>${body}</sf:Subject>`)).Subject).toHaveLength(3 * 1_500);
    expect(performance.now() - start).toBeLessThan(100);
  });
});
