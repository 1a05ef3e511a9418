import { parseOutboundMessage } from '@broker/salesforce';

/**
 * Salesforce field API names (compared case-insensitively) whose values a capture never keeps: names,
 * e-mail addresses, phone numbers, street addresses and free text. Any field ending in one of
 * {@link SALESFORCE_REDACTED_SUFFIXES} is redacted as well (BillingStreet, ContactEmail, SuppliedPhone…).
 */
export const SALESFORCE_REDACTED_FIELDS = [
  'Name',
  'FirstName',
  'LastName',
  'MiddleName',
  'Suffix',
  'Salutation',
  'Title',
  'CompanyName',
  'Company',
  'Email',
  'Phone',
  'MobilePhone',
  'HomePhone',
  'OtherPhone',
  'AssistantName',
  'AssistantPhone',
  'Fax',
  'Street',
  'City',
  'PostalCode',
  'Latitude',
  'Longitude',
  'Birthdate',
  'Description',
  'Subject',
  'Comments',
  'CommentBody',
  'Body',
  'TextBody',
  'HtmlBody',
  'SuppliedName',
  'SuppliedEmail',
  'SuppliedPhone',
  'SuppliedCompany',
];
export const SALESFORCE_REDACTED_SUFFIXES = ['name', 'email', 'phone', 'street', 'postalcode', 'city', 'latitude', 'longitude', 'fax'];

/**
 * Field Nation webhook keys (case-insensitive) redacted wherever they occur in the body; a key's
 * whole value is redacted, nested objects included (a `location` keeps its shape, not its address).
 * `name` is redacted only in a person's object (one with a first_name/last_name/email/phone key, or
 * under contacts, provider, user…): `event.name` and `status.name` are what the replay needs.
 */
export const WEBHOOK_REDACTED_KEYS = [
  'first_name',
  'last_name',
  'full_name',
  'display_name',
  'email',
  'phone',
  'phone_ext',
  'mobile',
  'cell',
  'address',
  'address1',
  'address2',
  'street',
  'zip',
  'postal_code',
  'city',
  'coordinates',
  'latitude',
  'longitude',
  'lat',
  'lng',
  'notes',
  'note',
  'message',
  'messages',
  'description',
  'comment',
  'comments',
  'text',
  'title',
  'photo',
  'thumbnail',
];
export const WEBHOOK_REDACTED_SUFFIXES = [
  '_email',
  '_phone',
  '_name',
  '_address',
  '_note',
  '_notes',
  '_comment',
  '_comments',
  '_description',
  '_message',
];
const CUSTOM_FIELD_NAME = /name|e-?mail|phone|mobile|address|street|contact|note|comment|description/i;
const PERSON_KEYS = new Set(['first_name', 'last_name', 'email', 'phone']);
const PERSON_CONTAINERS = /contact|provider|assignee|user|manager|owner|requester|customer|author/i;

const PLACEHOLDER = /^redacted-\d+-chars(@example\.invalid)?$/;
export const isPlaceholder = (value: unknown): boolean => typeof value === 'string' && PLACEHOLDER.test(value);
/** Text replaced by a capture: what it says is gone, its length stays (a size check still sees it). */
export const placeholder = (value: string, email = false): string =>
  isPlaceholder(value)
    ? value
    : email && value.includes('@')
      ? `redacted-${value.length}-chars@example.invalid`
      : `redacted-${value.length}-chars`;

export interface RedactionRules {
  /** Extra Salesforce field names to redact (CAPTURE_REDACT_FIELDS); the defaults always apply. */
  salesforceFields?: readonly string[];
  /** Extra webhook keys to redact (CAPTURE_REDACT_FIELDS); the defaults always apply. */
  webhookKeys?: readonly string[];
  /** Literal strings (path token, secrets of the connection) replaced wherever they occur. */
  secrets?: readonly string[];
}

function matcher(names: readonly string[], suffixes: readonly string[]): (name: string) => boolean {
  // A custom field is judged by its name without the __c suffix (Contact_Email__c is an e-mail).
  const set = new Set(names.map((n) => n.toLowerCase()));
  return (name) => {
    const n = name.toLowerCase().replace(/__c$/, '');
    return set.has(n) || suffixes.some((s) => n.endsWith(s));
  };
}

/** The redaction could not be done or proven: the capture is dropped, never stored half-redacted. */
export class RedactionError extends Error {}

function scrubSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text;
  // Longest first, so a secret containing a shorter one is replaced whole.
  for (const s of [...secrets].filter((x) => x.length >= 8).sort((a, b) => b.length - a.length))
    out = out.split(s).join('[redacted-secret]');
  return out;
}

const unescapeXml = (s: string) =>
  s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-f]+);/gi, (_m, e: string) => {
    const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
    if (named[e.toLowerCase()]) return named[e.toLowerCase()]!;
    return String.fromCodePoint(e[1]?.toLowerCase() === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });

/**
 * Redact an Outbound Message envelope as text, keeping its layout (indentation, prefixes, ids,
 * types): the SessionId, the org's host in EnterpriseUrl/PartnerUrl, personal sObject fields and
 * literal secrets. Then proven: the result is parsed like the ingress parses it and every redacted
 * field and the SessionId must hold a placeholder (CDATA or nested markup would fail here).
 */
export function redactOutboundMessage(xml: string, rules: RedactionRules = {}): { xml: string; redactedFields: number } {
  if (/<!\[CDATA\[|<!DOCTYPE/i.test(xml)) throw new RedactionError('CDATA or DOCTYPE in the envelope');
  const personal = matcher([...SALESFORCE_REDACTED_FIELDS, ...(rules.salesforceFields ?? [])], SALESFORCE_REDACTED_SUFFIXES);
  let redactedFields = 0;
  let out = xml.replace(
    /<((?:[\w.-]+:)?SessionId)(\s[^>]*)?>([^<]*)<\/\1\s*>/g,
    (_m, tag: string, attrs = '', value: string) => `<${tag}${attrs}>${value.length ? placeholder(unescapeXml(value)) : ''}</${tag}>`,
  );
  out = out.replace(
    /<((?:[\w.-]+:)?(?:EnterpriseUrl|PartnerUrl))(\s[^>]*)?>(https?:\/\/)[^/<]*/g,
    (_m, tag: string, attrs = '', scheme: string) => `<${tag}${attrs}>${scheme}redacted.my.salesforce.com`,
  );
  out = out.replace(/(<(?:[\w.-]+:)?sObject[\s>][\s\S]*?<\/(?:[\w.-]+:)?sObject\s*>)/g, (sObject) =>
    sObject.replace(
      /<((?:[\w.-]+:)?([A-Za-z][\w]*))(\s[^>]*)?>([^<]*)<\/\1\s*>/g,
      (m, tag: string, local: string, attrs = '', value: string) => {
        if (!personal(local) || value.length === 0) return m;
        redactedFields++;
        return `<${tag}${attrs}>${placeholder(unescapeXml(value), /email/i.test(local))}</${tag}>`;
      },
    ),
  );
  out = scrubSecrets(out, rules.secrets);

  let parsed;
  try {
    parsed = parseOutboundMessage(out);
  } catch (err) {
    throw new RedactionError(`redacted envelope does not parse: ${(err as Error).message}`);
  }
  if (parsed.sessionId && !isPlaceholder(parsed.sessionId)) throw new RedactionError('SessionId survived redaction');
  for (const n of parsed.notifications) {
    for (const [k, v] of Object.entries(n.fields)) {
      if (personal(k) && v && !isPlaceholder(v)) throw new RedactionError(`field ${k} survived redaction`);
    }
  }
  return { xml: out, redactedFields };
}

/** A value of the same JSON type with nothing of the original left but its length (strings) and shape. */
function redactValue(value: unknown, key: string): unknown {
  if (typeof value === 'string') return value.length ? placeholder(value, /email/i.test(key)) : value;
  if (typeof value === 'number') return 0;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, key));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v, k)]));
  return value;
}

/**
 * Redact a webhook body (parsed JSON) by key, keeping ids, numbers that are not personal, types and
 * nesting. Returns the redacted value and how many keys were redacted.
 */
export function redactWebhookBody(body: unknown, rules: RedactionRules = {}): { body: unknown; redactedKeys: number } {
  const personal = matcher([...WEBHOOK_REDACTED_KEYS, ...(rules.webhookKeys ?? [])], WEBHOOK_REDACTED_SUFFIXES);
  let redactedKeys = 0;
  const walk = (value: unknown, parentKey: string): unknown => {
    if (Array.isArray(value)) return value.map((v) => walk(v, parentKey));
    if (!value || typeof value !== 'object') return typeof value === 'string' ? scrubSecrets(value, rules.secrets) : value;
    const entries = Object.entries(value);
    const person = PERSON_CONTAINERS.test(parentKey) || entries.some(([k]) => PERSON_KEYS.has(k.toLowerCase()));
    // A custom field ({ name: "Site contact phone", value: "…" }) is personal by its name, not its key.
    const customField = entries.some(([k, v]) => k === 'name' && typeof v === 'string' && CUSTOM_FIELD_NAME.test(v));
    return Object.fromEntries(
      entries.map(([k, v]) => {
        if (personal(k) || (person && k.toLowerCase() === 'name') || (customField && k === 'value')) {
          if (v !== null && v !== '') redactedKeys++;
          return [k, redactValue(v, k)];
        }
        return [k, walk(v, k)];
      }),
    );
  };
  return { body: walk(body, ''), redactedKeys };
}

/**
 * What a committed fixture must not contain: a non-placeholder value in a personal field or the
 * SessionId. Returns the offending locations (empty when clean); the replay spec fails on any.
 */
export function findUnredacted(kind: 'outbound-message' | 'fieldnation-webhook', body: unknown, rules: RedactionRules = {}): string[] {
  if (kind === 'outbound-message') {
    try {
      const again = redactOutboundMessage(String(body), rules);
      return again.xml === body ? [] : ['outbound message changes when redacted again'];
    } catch (err) {
      return [(err as Error).message];
    }
  }
  const found: string[] = [];
  const before = JSON.stringify(body);
  const after = JSON.stringify(redactWebhookBody(body, rules).body);
  if (before !== after) found.push('webhook body changes when redacted again');
  return found;
}
