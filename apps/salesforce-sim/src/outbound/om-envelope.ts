import type { FieldModel, ObjectModel, Value } from '../org/org-model';

export const SOAP_ENV_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const OUTBOUND_NS = 'http://soap.sforce.com/2005/09/outbound';
export const SOBJECT_NS = 'urn:sobject.enterprise.soap.sforce.com';

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
