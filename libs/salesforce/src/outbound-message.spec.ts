import { describe, expect, it } from 'vitest';
import {
  ACK_ENVELOPE,
  buildOutboundMessage,
  OUTBOUND_LIMITS,
  outboundMessageWsdl,
  parseOutboundMessage,
  scanOutboundMessage,
  soapFault,
} from './outbound-message';
import { makeId } from './sf-id';

const org = makeId('00D', 1);
const action = makeId('04k', 1);
const capture = `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>${org}</OrganizationId>
   <ActionId>${action}</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>https://x.my.salesforce.com/services/Soap/c/62.0/${org.slice(0, 15)}</EnterpriseUrl>
   <PartnerUrl>https://x.my.salesforce.com/services/Soap/u/62.0/${org.slice(0, 15)}</PartnerUrl>
   <Notification>
    <Id>${makeId('04l', 1)}</Id>
    <sObject xsi:type="sf:Case" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>${makeId('500', 1).slice(0, 15)}</sf:Id>
     <sf:Subject>Printer &amp; scanner</sf:Subject>
     <sf:LastModifiedDate>2026-09-08T23:40:33.000Z</sf:LastModifiedDate>
     <sf:Description xsi:nil="true"/>
    </sObject>
   </Notification>
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>`;

describe('Outbound Message parser', () => {
  it('parses a captured envelope, normalising ids and decoding text', () => {
    const m = parseOutboundMessage(capture);
    expect(m.organizationId).toBe(org);
    expect(m.actionId).toBe(action);
    expect(m.sessionId).toBeNull();
    expect(m.notifications).toEqual([
      {
        id: makeId('04l', 1),
        sObjectType: 'Case',
        sfId: makeId('500', 1),
        fields: {
          Id: makeId('500', 1).slice(0, 15),
          Subject: 'Printer & scanner',
          LastModifiedDate: '2026-09-08T23:40:33.000Z',
          Description: null,
        },
      },
    ]);
  });

  it('round-trips what buildOutboundMessage writes, up to 100 notifications', () => {
    const notifications = Array.from({ length: 100 }, (_, i) => ({
      id: makeId('04l', i + 1),
      sObjectType: 'Case',
      fields: { Id: makeId('500', i + 1), Status: i % 2 ? 'New' : null },
    }));
    const xml = buildOutboundMessage({
      organizationId: org,
      actionId: action,
      sessionId: null,
      enterpriseUrl: 'e',
      partnerUrl: 'p',
      notifications,
    });
    const m = parseOutboundMessage(xml);
    expect(m.notifications).toHaveLength(100);
    expect(m.notifications[0]!.fields).toEqual({ Id: makeId('500', 1) });
    expect(m.notifications[1]!.fields.Status).toBe('New');
  });

  it.each([
    ['truncated XML', capture.slice(0, 400), /malformed|missing|not a/],
    [
      'an entity expansion attack',
      `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>${capture.replace(/^<\?xml[^>]*>/, '')}`,
      /DTD/,
    ],
    ['an external entity', `<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x>&xxe;</x>`, /DTD/],
    [
      'the wrong notifications namespace',
      capture.replace('http://soap.sforce.com/2005/09/outbound', 'http://evil.example/ns'),
      /namespace/,
    ],
    [
      'the wrong SOAP namespace',
      capture.replace('http://schemas.xmlsoap.org/soap/envelope/', 'http://www.w3.org/2003/05/soap-envelope'),
      /SOAP 1.1/,
    ],
    ['a bad organization id', capture.replace(`<OrganizationId>${org}`, '<OrganizationId>nope'), /OrganizationId/],
    ['no notifications', capture.replace(/<Notification>[\s\S]*<\/Notification>/, ''), /no Notification/],
    ['a record without Id', capture.replace(/<sf:Id>[^<]*<\/sf:Id>/, ''), /no valid Id/],
    ['JSON', '{"a":1}', /not a SOAP envelope|malformed/],
    ['an empty body', '', /not a SOAP envelope|malformed/],
  ])('rejects %s with a clear error', (_name, xml, pattern) => {
    expect(() => parseOutboundMessage(xml)).toThrow(pattern);
  });

  it('rejects more than 100 notifications and duplicated notification ids', () => {
    const many = Array.from({ length: 101 }, (_, i) => ({
      id: makeId('04l', i + 1),
      sObjectType: 'Case',
      fields: { Id: makeId('500', 1) },
    }));
    const base = { organizationId: org, actionId: action, sessionId: null, enterpriseUrl: '', partnerUrl: '' };
    expect(() => parseOutboundMessage(buildOutboundMessage({ ...base, notifications: many }))).toThrow(/more than 100/);
    const twice = [many[0]!, many[0]!];
    expect(() => parseOutboundMessage(buildOutboundMessage({ ...base, notifications: twice }))).toThrow(/twice/);
  });

  it('produces the documented Ack, a fault with escaped text, and a WSDL naming the object', () => {
    expect(ACK_ENVELOPE).toContain('<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack>');
    expect(soapFault('Client', 'bad <xml>')).toContain('<faultstring>bad &lt;xml&gt;</faultstring>');
    const wsdl = outboundMessageWsdl({ sObjectType: 'Case', fields: ['Status'], location: 'https://broker/salesforce/outbound/demo' });
    expect(wsdl).toContain('tns:CaseNotification');
    expect(wsdl).toContain('location="https://broker/salesforce/outbound/demo"');
  });

  it('takes the ActionId as sent: a capture whose ActionId fails the checksum is accepted', () => {
    const bad = `${action.slice(0, 15)}${action.endsWith('AAA') ? 'AAB' : 'AAA'}`;
    const m = parseOutboundMessage(capture.replace(`<ActionId>${action}`, `<ActionId>${bad}`));
    expect(m.actionId).toBe(bad);
    expect(m.notifications).toHaveLength(1);
  });
});

describe('Outbound Message pre-scan', () => {
  it('finds the organization id and the notification count without parsing', () => {
    expect(scanOutboundMessage(capture)).toEqual({ organizationId: org, notificationCount: 1 });
    const many = Array.from({ length: 100 }, (_, i) => ({
      id: makeId('04l', i + 1),
      sObjectType: 'Case',
      fields: { Id: makeId('500', i + 1) },
    }));
    const xml = buildOutboundMessage({
      organizationId: org,
      actionId: action,
      sessionId: 's',
      enterpriseUrl: 'e',
      partnerUrl: 'p',
      notifications: many,
    });
    expect(scanOutboundMessage(xml)).toEqual({ organizationId: org, notificationCount: 100 });
    // Comments, CDATA and '>' inside attribute values are not tags.
    expect(
      scanOutboundMessage(
        capture.replace('<sf:Id>', '<!-- a <b> --><sf:Id>').replace('xsi:type="sf:Case"', 'xsi:type="sf:Case" data-x="a>b"'),
      ).notificationCount,
    ).toBe(1);
  });

  it('refuses another org with its own reason (15- and 18-character forms compare alike)', () => {
    expect(() => parseOutboundMessage(capture, { organizationId: makeId('00D', 2) })).toThrow(
      expect.objectContaining({ reason: 'wrong-org', message: expect.stringMatching(/does not match/) }),
    );
    expect(() => parseOutboundMessage(capture, { organizationId: org.slice(0, 15) })).not.toThrow();
  });

  it.each([
    [
      'an element with too many attributes',
      `<a ${Array.from({ length: 17 }, (_, i) => `x${i}="1"`).join(' ')}/>`,
      /more than 16 attributes/,
    ],
    ['too many elements', `<a>${'<b/>'.repeat(OUTBOUND_LIMITS.maxElements)}</a>`, /more than 12000 elements/],
    [
      'too many attributes in all',
      `<a>${`<b ${Array.from({ length: 16 }, (_, i) => `x${i}="1"`).join(' ')}/>`.repeat(800)}</a>`,
      /more than 12000 attributes/,
    ],
    ['deep nesting', `${'<a>'.repeat(13)}${'</a>'.repeat(13)}`, /deeper than 12/],
    ['a DOCTYPE', '<!DOCTYPE x><x/>', /DTD/],
    ['unbalanced tags', '<a><b></a></b>', /malformed/],
    ['an unclosed element', '<a><b/>', /not closed/],
    ['text before the root', 'junk<a/>', /not an XML document/],
    ['an unterminated attribute', '<a x="1/>', /unterminated/],
    ['an attribute without a value', '<a b><c d="1"/></a>', /attribute without a value/],
    ['a stray < in a start tag', '<a <b c="1"/></a>', /attribute without a name/],
    [
      'two OrganizationIds',
      capture.replace('<ActionId>', `<OrganizationId>${makeId('00D', 3)}</OrganizationId><ActionId>`),
      /more than one OrganizationId/,
    ],
  ])('refuses %s', (_name, xml, pattern) => {
    expect(() => scanOutboundMessage(xml)).toThrow(pattern);
  });

  it('stays linear: 2 MB of attributes is refused in milliseconds', () => {
    const attrs = Array.from({ length: 80_000 }, (_, i) => ` a${i}="vvvvvvvvvvvvvvvv"`).join('');
    const xml = Buffer.from(`<soapenv:Envelope${attrs}/>`).toString();
    const start = performance.now();
    expect(() => parseOutboundMessage(xml)).toThrow(/attributes on one element/);
    expect(performance.now() - start).toBeLessThan(50);
  });
});
