import type { FieldModel, ObjectModel, Value } from '../org/org-model';
import { formatSoapDatetime } from '../core/values';

export const SOAP_ENV_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const OUTBOUND_NS = 'http://soap.sforce.com/2005/09/outbound';
export const SOBJECT_NS = 'urn:sobject.enterprise.soap.sforce.com';

export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

export interface EnvelopeNotification {
  id: string;
  object: ObjectModel;
  /** Field values read at send time, Id first. */
  values: { field: FieldModel; value: Value }[];
}

export interface EnvelopeInput {
  organizationId: string;
  actionId: string;
  sessionId?: string;
  enterpriseUrl: string;
  partnerUrl: string;
  notifications: EnvelopeNotification[];
}

function encode(field: FieldModel, value: Value): string {
  if (field.type === 'datetime' && typeof value === 'string') return formatSoapDatetime(value);
  return xmlEscape(String(value));
}

/**
 * The `notifications` SOAP envelope exactly as Salesforce sends it (reference §1.2): children of
 * `notifications` unprefixed in the outbound namespace, in schema order; the sObject typed with
 * `xsi:type="sf:<Object>"`; a null field left out entirely.
 */
export function buildNotificationsEnvelope(input: EnvelopeInput): string {
  const parts: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<soapenv:Envelope xmlns:soapenv="${SOAP_ENV_NS}" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">`,
    '<soapenv:Body>',
    `<notifications xmlns="${OUTBOUND_NS}">`,
    `<OrganizationId>${input.organizationId}</OrganizationId>`,
    `<ActionId>${input.actionId}</ActionId>`,
    input.sessionId ? `<SessionId>${xmlEscape(input.sessionId)}</SessionId>` : '<SessionId xsi:nil="true"/>',
    `<EnterpriseUrl>${xmlEscape(input.enterpriseUrl)}</EnterpriseUrl>`,
    `<PartnerUrl>${xmlEscape(input.partnerUrl)}</PartnerUrl>`,
  ];
  for (const n of input.notifications) {
    parts.push('<Notification>', `<Id>${n.id}</Id>`, `<sObject xsi:type="sf:${n.object.name}" xmlns:sf="${SOBJECT_NS}">`);
    for (const { field, value } of n.values) {
      if (value === null || value === undefined) continue;
      parts.push(`<sf:${field.name}>${encode(field, value)}</sf:${field.name}>`);
    }
    parts.push('</sObject>', '</Notification>');
  }
  parts.push('</notifications>', '</soapenv:Body>', '</soapenv:Envelope>');
  return parts.join('');
}
