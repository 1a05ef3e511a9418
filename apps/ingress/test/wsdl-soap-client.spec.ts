import { createClientAsync } from 'soap';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeId } from '@broker/salesforce';
import { ORG_ID, startIngress, type IngressUnderTest } from './ingress-test-kit';

// An admin's SOAP tooling reads the WSDL the ingress serves and calls the endpoint with it: the `soap`
// package stands in for that tooling here (the simulated org builds its calls the same way).
let ingress: IngressUnderTest;
beforeAll(async () => {
  ingress = await startIngress();
  for (let i = 0; i < 100 && (await fetch(`${ingress.url}/readyz`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 50));
});
afterAll(async () => {
  await ingress?.close();
});

describe('the ingress WSDL in a SOAP client', () => {
  it('loads, and a notifications call built from it is acknowledged and queued', async () => {
    const endpoint = `${ingress.url}/salesforce/outbound/locked/a-secret-path-token-0123`;
    // The WSDL names the public URL as its location; the test reaches the ingress on its own port.
    const client = await createClientAsync(`${endpoint}?wsdl`, {}, endpoint);
    const description = client.describe() as Record<string, any>;
    expect(Object.keys(description.NotificationService.Notification)).toEqual(['notifications']);

    const notificationId = makeId('04l', 9001);
    const sfId = makeId('500', 9001);
    const [result] = await client.notificationsAsync({
      OrganizationId: ORG_ID,
      ActionId: makeId('04k', 9),
      SessionId: { attributes: { 'xsi:nil': 'true' } },
      EnterpriseUrl: 'https://x.my.salesforce.com/services/Soap/c/62.0/00D000000000001',
      PartnerUrl: 'https://x.my.salesforce.com/services/Soap/u/62.0/00D000000000001',
      Notification: [
        {
          Id: notificationId,
          sObject: { attributes: { 'xsi:type': 'sf:Case', 'xmlns:sf': 'urn:sobject.enterprise.soap.sforce.com' }, Id: sfId },
        },
      ],
    });
    expect(result).toEqual({ Ack: true });
    const job = await ingress.fetchQueue.getJob(`om-locked-${notificationId}`);
    expect(job?.data).toMatchObject({ connectionId: 'locked', sfObject: 'Case', sfId });
  });
});
