import { describe, expect, it } from 'vitest';
import { ACK_ENVELOPE, buildOutboundMessage, outboundMessageWsdl, parseOutboundMessage, soapFault } from './outbound-message';
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
        fields: { Id: makeId('500', 1).slice(0, 15), Subject: 'Printer & scanner', LastModifiedDate: '2026-09-08T23:40:33.000Z', Description: null },
      },
    ]);
  });

  it('round-trips what buildOutboundMessage writes, up to 100 notifications', () => {
    const notifications = Array.from({ length: 100 }, (_, i) => ({ id: makeId('04l', i + 1), sObjectType: 'Case', fields: { Id: makeId('500', i + 1), Status: i % 2 ? 'New' : null } }));
    const xml = buildOutboundMessage({ organizationId: org, actionId: action, sessionId: null, enterpriseUrl: 'e', partnerUrl: 'p', notifications });
    const m = parseOutboundMessage(xml);
    expect(m.notifications).toHaveLength(100);
    expect(m.notifications[0]!.fields).toEqual({ Id: makeId('500', 1) });
    expect(m.notifications[1]!.fields.Status).toBe('New');
  });

  it.each([
    ['truncated XML', capture.slice(0, 400), /malformed|missing|not a/],
    ['an entity expansion attack', `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>${capture.replace(/^<\?xml[^>]*>/, '')}`, /DTD/],
    ['an external entity', `<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x>&xxe;</x>`, /DTD/],
    ['the wrong notifications namespace', capture.replace('http://soap.sforce.com/2005/09/outbound', 'http://evil.example/ns'), /namespace/],
    ['the wrong SOAP namespace', capture.replace('http://schemas.xmlsoap.org/soap/envelope/', 'http://www.w3.org/2003/05/soap-envelope'), /SOAP 1.1/],
    ['a bad organization id', capture.replace(`<OrganizationId>${org}`, '<OrganizationId>nope'), /OrganizationId/],
    ['no notifications', capture.replace(/<Notification>[\s\S]*<\/Notification>/, ''), /no Notification/],
    ['a record without Id', capture.replace(/<sf:Id>[^<]*<\/sf:Id>/, ''), /no valid Id/],
    ['JSON', '{"a":1}', /not a SOAP envelope|malformed/],
    ['an empty body', '', /not a SOAP envelope|malformed/],
  ])('rejects %s with a clear error', (_name, xml, pattern) => {
    expect(() => parseOutboundMessage(xml)).toThrow(pattern);
  });

  it('rejects more than 100 notifications and duplicated notification ids', () => {
    const many = Array.from({ length: 101 }, (_, i) => ({ id: makeId('04l', i + 1), sObjectType: 'Case', fields: { Id: makeId('500', 1) } }));
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
});
