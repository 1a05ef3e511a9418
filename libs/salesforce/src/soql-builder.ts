import { toId18 } from './sf-id';

/** Salesforce allows five levels of child-to-parent relationships in one SOQL path. */
export const MAX_RELATIONSHIP_DEPTH = 5;

const SEGMENT = /^[A-Za-z][A-Za-z0-9_]*$/;

export class SoqlBuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SoqlBuildError';
  }
}

/** Validate a field path like `Account.Owner.Manager.Email`; returns it unchanged. */
export function checkFieldPath(path: string): string {
  const segments = path.split('.');
  if (segments.some((s) => !SEGMENT.test(s))) throw new SoqlBuildError(`invalid field path "${path}"`);
  if (segments.length - 1 > MAX_RELATIONSHIP_DEPTH) {
    throw new SoqlBuildError(`"${path}" goes ${segments.length - 1} relationships deep; Salesforce allows ${MAX_RELATIONSHIP_DEPTH}`);
  }
  return path;
}

/**
 * The one query that reads a record with every field its mapping needs, at any depth.
 * Id and SystemModstamp are always selected (dedup and skip-if-unchanged need them).
 * `conditions` (each already checked, e.g. by checkSoqlCondition at config load) are ANDed after the
 * id, each in its own parentheses, so that an OR inside one cannot widen the query beyond the record.
 */
export function buildRecordQuery(sObject: string, fields: Iterable<string>, id: string, conditions: readonly string[] = []): string {
  if (!SEGMENT.test(sObject)) throw new SoqlBuildError(`invalid object name "${sObject}"`);
  const unique = new Map<string, string>();
  for (const f of ['Id', 'SystemModstamp', ...fields]) {
    checkFieldPath(f);
    // SOQL field names are case-insensitive: select each path once.
    const key = f.toLowerCase();
    if (!unique.has(key)) unique.set(key, f);
  }
  const where = [`Id = '${toId18(id)}'`, ...conditions.map((c) => `(${c})`)].join(' AND ');
  return `SELECT ${[...unique.values()].join(', ')} FROM ${sObject} WHERE ${where}`;
}

/** Escape a string literal for SOQL. */
export function soqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r')}'`;
}

/** Read a dotted path from a REST/jsforce record (null parents stay null). */
export function readPath(record: unknown, path: string): unknown {
  let current: unknown = record;
  for (const segment of path.split('.')) {
    if (current == null || typeof current !== 'object') return current === undefined ? undefined : null;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}
