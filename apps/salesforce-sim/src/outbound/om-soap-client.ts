import { Client, WSDL, type IHttpClient } from 'soap';
import { outboundMessageWsdl } from '@broker/salesforce';
import { formatSoapDatetime } from '../core/values';
import type { EnvelopeInput } from './om-envelope';
import { SOBJECT_NS } from './om-envelope';

/**
 * The simulated org's Outbound Message calls, built by the `soap` package from the definition's WSDL
 * (the same WSDL the broker's ingress serves at `?wsdl` and Salesforce's "Click for WSDL" gives), so
 * the simulator, an admin's SOAP tooling and the ingress agree on one contract. `soap` only renders
 * the request: the POST itself (Salesforce's headers, per-attempt timeout, strict Ack check) stays in
 * outbound-sender.ts.
 */

interface Renderer {
  client: Client;
  /** Set by the capturing HTTP client while `client.notifications` runs (synchronously). */
  captured?: string;
}

const renderers = new Map<string, Promise<Renderer>>();

function load(wsdlXml: string, endpointUrl: string): Promise<Renderer> {
  return new Promise((resolve, reject) => {
    const renderer = {} as Renderer;
    // Never sends: it hands the rendered envelope back (soap calls it synchronously from `notifications`).
    const httpClient = {
      request: (_url: string, data: unknown, callback: (err: unknown) => void) => {
        renderer.captured = String(data);
        callback(new Error('rendered, not sent'));
        return undefined as never;
      },
    } as unknown as IHttpClient;
    const options = { envelopeKey: 'soapenv', httpClient, disableCache: true };
    const wsdl = new WSDL(wsdlXml, `${endpointUrl}?wsdl`, options);
    wsdl.onReady((err: unknown) => {
      if (err) return reject(err instanceof Error ? err : new Error(String(err)));
      renderer.client = new Client(wsdl, endpointUrl, options);
      resolve(renderer);
    });
  });
}

/** One soap client per (object, fields, endpoint): the WSDL is parsed once, not per POST. */
function rendererFor(object: string, fields: string[], endpointUrl: string): Promise<Renderer> {
  const key = `${object}\n${fields.join(',')}\n${endpointUrl}`;
  let r = renderers.get(key);
  if (!r) {
    r = load(outboundMessageWsdl({ sObjectType: object, fields, location: endpointUrl }), endpointUrl);
    r.catch(() => renderers.delete(key));
    renderers.set(key, r);
  }
  return r;
}

/** The `notifications` request for these notifications, rendered by soap from the WSDL. */
export async function renderNotificationsCall(endpointUrl: string, fields: string[], input: EnvelopeInput): Promise<string> {
  const object = input.notifications[0]?.object.name;
  if (!object) throw new Error('no notifications to send');
  const renderer = await rendererFor(object, fields, endpointUrl);
  const args = {
    OrganizationId: input.organizationId,
    ActionId: input.actionId,
    SessionId: input.sessionId ?? { attributes: { 'xsi:nil': 'true' } },
    EnterpriseUrl: input.enterpriseUrl,
    PartnerUrl: input.partnerUrl,
    Notification: input.notifications.map((n) => {
      const sObject: Record<string, unknown> = { attributes: { 'xsi:type': `sf:${n.object.name}`, 'xmlns:sf': SOBJECT_NS } };
      for (const { field, value } of n.values) {
        // Salesforce leaves a null field out entirely (reference §1.2), never xsi:nil.
        if (value === null || value === undefined) continue;
        sObject[field.name] = field.type === 'datetime' && typeof value === 'string' ? formatSoapDatetime(value) : String(value);
      }
      return { Id: n.id, sObject };
    }),
  };
  renderer.captured = undefined;
  renderer.client.notifications(args, () => undefined);
  const xml = renderer.captured as string | undefined;
  renderer.captured = undefined;
  if (!xml) throw new Error('soap did not render the notifications call');
  return xml;
}
