import { isSalesforceId, toId18 } from '@broker/salesforce';
import { SfError } from './sf-error';
import type { FieldModel, Value } from '../org/org-model';

/** REST renders datetimes as `2013-05-20T20:49:32.000+0000`. */
export function formatRestDatetime(iso: string): string {
  return iso.replace(/Z$/, '+0000');
}

/** Outbound Messages render datetimes as `2026-09-08T23:40:33.000Z`. */
export function formatSoapDatetime(iso: string): string {
  return new Date(iso).toISOString();
}

export function toRestValue(field: FieldModel, value: Value | undefined): Value {
  if (value === undefined || value === null) return null;
  if (field.type === 'datetime' && typeof value === 'string') return formatRestDatetime(value);
  return value;
}

export function normaliseId(value: string): string | undefined {
  return isSalesforceId(value) ? toId18(value) : undefined;
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function parserError(type: string, value: unknown): SfError {
  return new SfError(
    400,
    'JSON_PARSER_ERROR',
    `Cannot deserialize instance of ${type} from VALUE_STRING value ${String(value)} or request may be missing a required field`,
  );
}

/** Parse a datetime given by a client (ISO 8601 with Z, ±hh:mm or ±hhmm) to the stored ISO form. */
export function parseDatetime(value: string): string | undefined {
  const fixed = value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const ms = Date.parse(fixed);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(ms)) return undefined;
  return new Date(ms).toISOString();
}

/**
 * Check and convert one incoming field value the way the REST API does; the errors carry the codes a
 * client sees from a real org.
 */
export function coerceFieldValue(field: FieldModel, raw: unknown): Value {
  if (raw === null || raw === undefined || raw === '') {
    if (field.type === 'boolean') {
      if (raw === '') throw parserError('boolean', raw);
      return false;
    }
    if (field.picklist?.restricted && raw === null && field.required)
      throw new SfError(400, 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', `${field.label}: bad value for restricted picklist field: null`, [
        field.name,
      ]);
    return null;
  }
  switch (field.type) {
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === 'false') return raw === 'true';
      throw parserError('boolean', raw);
    case 'double':
    case 'currency':
    case 'percent':
    case 'int': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
      if (!Number.isFinite(n)) throw parserError(field.type === 'int' ? 'int' : 'double', raw);
      return field.type === 'int' ? Math.trunc(n) : n;
    }
    case 'date':
      if (typeof raw !== 'string' || !DATE_RE.test(raw) || Number.isNaN(Date.parse(raw))) throw parserError('date', raw);
      return raw;
    case 'datetime': {
      const parsed = typeof raw === 'string' ? parseDatetime(raw) : undefined;
      if (!parsed) throw parserError('datetime', raw);
      return parsed;
    }
    case 'reference': {
      const id = typeof raw === 'string' ? normaliseId(raw) : undefined;
      if (!id) throw new SfError(400, 'MALFORMED_ID', `${field.label}: id value of incorrect type: ${String(raw)}`, [field.name]);
      return id;
    }
    default: {
      if (typeof raw === 'object') throw parserError('String', JSON.stringify(raw));
      const s = String(raw);
      if (field.length && s.length > field.length)
        throw new SfError(400, 'STRING_TOO_LONG', `${field.label}: data value too large: ${s.slice(0, 80)} (max length=${field.length})`, [
          field.name,
        ]);
      if (field.type === 'email' && !EMAIL_RE.test(s))
        throw new SfError(400, 'INVALID_EMAIL_ADDRESS', `${field.label}: invalid email address: ${s}`, [field.name]);
      if (field.picklist?.restricted && !field.picklist.values.some((v) => v.value === s && v.active))
        throw new SfError(400, 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', `${field.label}: bad value for restricted picklist field: ${s}`, [
          field.name,
        ]);
      return s;
    }
  }
}
