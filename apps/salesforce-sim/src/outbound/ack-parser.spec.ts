import { describe, expect, it } from 'vitest';
import { isAck } from './ack-parser';

const env = (inner: string, extra = '') =>
  `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"${extra}><soapenv:Body>${inner}</soapenv:Body></soapenv:Envelope>`;

describe('isAck', () => {
  it('accepts the default-namespace and the prefixed forms', () => {
    expect(
      isAck(env('<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>')),
    ).toBe(true);
    expect(
      isAck(
        env(
          '<out:notificationsResponse><out:Ack>true</out:Ack></out:notificationsResponse>',
          ' xmlns:out="http://soap.sforce.com/2005/09/outbound"',
        ),
      ),
    ).toBe(true);
    expect(
      isAck(
        `<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/">\n <S:Body>\n  <notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">\n   <Ack> true </Ack>\n  </notificationsResponse>\n </S:Body>\n</S:Envelope>`,
      ),
    ).toBe(true);
  });

  it('rejects everything else', () => {
    const bad = [
      '',
      '{"Ack":true}',
      'true',
      env('<notificationsResponse><Ack>true</Ack></notificationsResponse>'),
      env('<notificationsResponse xmlns="urn:other"><Ack>true</Ack></notificationsResponse>'),
      env('<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>false</Ack></notificationsResponse>'),
      env('<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"></notificationsResponse>'),
      env('<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notifications>'),
      '<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></Body></Envelope>',
      env('<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack>'),
    ];
    for (const body of bad) expect(isAck(body), body).toBe(false);
  });
});
