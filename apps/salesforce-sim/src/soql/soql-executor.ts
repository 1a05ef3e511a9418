import { SfError } from '../core/sf-error';
import { normaliseId, parseDatetime, toRestValue } from '../core/values';
import type { FieldModel, ObjectModel, RecordData, Value } from '../org/org-model';
import type { OrgStore } from '../org/org-store';
import type { Condition, FieldRef, Literal, SoqlQuery } from './soql-ast';
import { dateLiteralRange } from './date-literals';

/** Deepest child-to-parent path Salesforce allows (Case.Contact.Account.Owner.Manager.Name = 5 hops). */
export const MAX_RELATIONSHIP_DEPTH = 5;

export interface ResolvedField {
  /** Reference fields followed, in order. */
  rels: FieldModel[];
  /** Objects along the path: root first, the field's object last. */
  objects: ObjectModel[];
  field: FieldModel;
}

export interface QueryResult {
  totalSize: number;
  records: Record<string, unknown>[];
}

function positioned(soql: string, pos: number, errorCode: string, message: string): SfError {
  const before = soql.slice(0, pos);
  const row = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const line = soql.slice(lineStart).split('\n')[0] ?? '';
  const col = pos - lineStart + 1;
  return new SfError(400, errorCode, `\n${line}\n${' '.repeat(col - 1)}^\nERROR at Row:${row}:Column:${col}\n${message}`);
}

type Predicate = (record: RecordData) => boolean;
type Comparable = string | number | boolean | null;

export class SoqlExecutor {
  constructor(private readonly store: OrgStore) {}

  execute(query: SoqlQuery, options: { includeDeleted: boolean; version: string; now: number }): QueryResult {
    const root = this.store.model.object(query.from.name);
    if (!root)
      throw positioned(
        query.text,
        query.from.pos,
        'INVALID_TYPE',
        `sObject type '${query.from.name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
      );
    const resolve = (ref: FieldRef) => this.resolve(query, root, ref);
    const counting = query.select.some((s) => s.kind === 'count');
    if (counting && query.select.length > 1) {
      const extra = query.select.find((s) => s.kind !== 'count') ?? query.select[1]!;
      throw positioned(query.text, extra.pos, 'MALFORMED_QUERY', 'COUNT() must be the only element in the SELECT list.');
    }
    const selected = query.select.flatMap((s) => (s.kind === 'field' ? [resolve(s)] : []));
    const predicate = query.where ? this.compile(query, query.where, resolve, options.now) : () => true;
    const order = query.orderBy.map((o) => ({ ...o, resolved: resolve(o.field) }));

    let rows = this.store.all(root, options.includeDeleted).filter(predicate);
    if (order.length) {
      const keyed = rows.map((r, index) => ({
        r,
        index,
        keys: order.map((o) => this.comparable(o.resolved, this.valueAt(root, r, o.resolved))),
      }));
      keyed.sort((a, b) => {
        for (const [i, o] of order.entries()) {
          const c = compareForSort(a.keys[i]!, b.keys[i]!, o.descending, o.nullsFirst);
          if (c !== 0) return c;
        }
        return a.index - b.index;
      });
      rows = keyed.map((k) => k.r);
    }
    const offset = query.offset ?? 0;
    rows = rows.slice(offset, query.limit !== undefined ? offset + query.limit : undefined);
    if (counting) return { totalSize: rows.length, records: [] };
    return { totalSize: rows.length, records: rows.map((r) => this.project(root, r, selected, options.version)) };
  }

  resolve(query: SoqlQuery, root: ObjectModel, ref: FieldRef): ResolvedField {
    let segments = ref.path;
    if (segments.length > 1) {
      const head = segments[0]!.toLowerCase();
      if ((query.from.alias && head === query.from.alias.toLowerCase()) || (head === root.name.toLowerCase() && !root.relationship(head)))
        segments = segments.slice(1);
    }
    if (segments.length - 1 > MAX_RELATIONSHIP_DEPTH)
      throw positioned(
        query.text,
        ref.pos,
        'MALFORMED_QUERY',
        `${ref.path.join('.')}: a child-to-parent relationship path can follow at most ${MAX_RELATIONSHIP_DEPTH} relationships`,
      );
    const rels: FieldModel[] = [];
    const objects: ObjectModel[] = [root];
    let current = root;
    for (const seg of segments.slice(0, -1)) {
      const rel = current.relationship(seg);
      const target = rel ? this.store.model.object(rel.referenceTo[0]!) : undefined;
      if (!rel || !target)
        throw positioned(
          query.text,
          ref.pos,
          'INVALID_FIELD',
          `Didn't understand relationship '${seg}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.`,
        );
      rels.push(rel);
      objects.push(target);
      current = target;
    }
    const name = segments[segments.length - 1]!;
    const field = current.field(name);
    if (!field)
      throw positioned(
        query.text,
        ref.pos,
        'INVALID_FIELD',
        `No such column '${name}' on entity '${current.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
      );
    return { rels, objects, field };
  }

  private valueAt(root: ObjectModel, record: RecordData, path: ResolvedField): Value {
    let rec = record;
    let obj = root;
    for (const rel of path.rels) {
      const parent = this.store.parent(rec, rel);
      if (!parent) return null;
      rec = parent.record;
      obj = parent.object;
    }
    return this.store.value(obj, rec, path.field);
  }

  private comparable(path: ResolvedField, v: Value): Comparable {
    if (v === null || v === undefined) return null;
    if (path.field.type === 'datetime' && typeof v === 'string') return Date.parse(v);
    if (typeof v === 'string') return v.toLowerCase();
    return v;
  }

  private compile(query: SoqlQuery, cond: Condition, resolve: (r: FieldRef) => ResolvedField, now: number): Predicate {
    const root = this.store.model.object(query.from.name)!;
    switch (cond.kind) {
      case 'and': {
        const parts = cond.items.map((c) => this.compile(query, c, resolve, now));
        return (r) => parts.every((p) => p(r));
      }
      case 'or': {
        const parts = cond.items.map((c) => this.compile(query, c, resolve, now));
        return (r) => parts.some((p) => p(r));
      }
      case 'not': {
        const inner = this.compile(query, cond.item, resolve, now);
        return (r) => !inner(r);
      }
      case 'like': {
        const path = resolve(cond.field);
        const re = likeToRegExp(cond.pattern);
        return (r) => {
          const v = this.valueAt(root, r, path);
          return v !== null && re.test(String(v));
        };
      }
      case 'in': {
        const path = resolve(cond.field);
        const values = cond.values.map((l) => this.literal(query, path, l, cond.valuePos, now));
        return (r) => {
          const v = this.comparable(path, this.valueAt(root, r, path));
          const hit = values.some((lit) => matchEquals(v, lit));
          return cond.negated ? !hit : hit;
        };
      }
      case 'cmp': {
        const path = resolve(cond.field);
        const lit = this.literal(query, path, cond.value, cond.valuePos, now);
        const op = cond.op;
        return (r) => compareOp(this.comparable(path, this.valueAt(root, r, path)), op, lit);
      }
    }
  }

  /** Convert a literal to the field's comparable form, rejecting mismatches as Salesforce does. */
  private literal(
    query: SoqlQuery,
    path: ResolvedField,
    lit: Literal,
    pos: number,
    now: number,
  ): Comparable | [number, number] | [string, string] {
    const f = path.field;
    const bad = (expected: string) =>
      positioned(
        query.text,
        pos,
        'INVALID_QUERY_FILTER_OPERATOR',
        `value of filter criterion for field '${f.name}' must be of type ${expected} and should not be enclosed in quotes`,
      );
    if (lit.kind === 'null') return null;
    switch (f.type) {
      case 'id':
      case 'reference': {
        if (lit.kind !== 'string') throw bad('id');
        const id = normaliseId(lit.value);
        if (!id) throw positioned(query.text, pos, 'INVALID_QUERY_FILTER_OPERATOR', `invalid ID field: ${lit.value}`);
        return id.toLowerCase();
      }
      case 'boolean':
        if (lit.kind !== 'boolean') throw bad('boolean');
        return lit.value;
      case 'double':
      case 'int':
      case 'currency':
      case 'percent':
        if (lit.kind !== 'number') throw bad('double');
        return lit.value;
      case 'datetime': {
        if (lit.kind === 'dateLiteral') return dateLiteralRange(lit.name, lit.n, now);
        if (lit.kind !== 'datetime') throw bad('dateTime');
        return Date.parse(parseDatetime(lit.value) ?? lit.value);
      }
      case 'date': {
        if (lit.kind === 'dateLiteral') {
          const [s, e] = dateLiteralRange(lit.name, lit.n, now);
          return [new Date(s).toISOString().slice(0, 10), new Date(e).toISOString().slice(0, 10)];
        }
        if (lit.kind !== 'date') throw bad('date');
        return lit.value;
      }
      default:
        if (lit.kind !== 'string') throw bad('string');
        return lit.value.toLowerCase();
    }
  }

  private project(root: ObjectModel, record: RecordData, selected: ResolvedField[], version: string): Record<string, unknown> {
    const attributes = (o: ObjectModel, r: RecordData) => ({
      type: o.name,
      url: `/services/data/v${version}/sobjects/${o.name}/${String(r.Id)}`,
    });
    const out: Record<string, unknown> = { attributes: attributes(root, record) };
    const sources = new Map<object, { obj: ObjectModel; rec: RecordData }>([[out, { obj: root, rec: record }]]);
    for (const path of selected) {
      let target: Record<string, unknown> | null = out;
      for (const rel of path.rels) {
        const src: { obj: ObjectModel; rec: RecordData } = sources.get(target!)!;
        const key = rel.relationshipName!;
        if (target![key] === undefined) {
          const parent = this.store.parent(src.rec, rel);
          if (!parent) {
            target![key] = null;
          } else {
            const nested = { attributes: attributes(parent.object, parent.record) };
            sources.set(nested, { obj: parent.object, rec: parent.record });
            target![key] = nested;
          }
        }
        target = target![key] as Record<string, unknown> | null;
        if (target === null) break;
      }
      if (target === null) continue;
      const src = sources.get(target)!;
      target[path.field.name] = toRestValue(path.field, this.store.value(src.obj, src.rec, path.field));
    }
    return out;
  }
}

function matchEquals(v: Comparable, lit: Comparable | [number, number] | [string, string]): boolean {
  if (Array.isArray(lit)) return v !== null && v >= lit[0] && v < lit[1];
  if (lit === null) return v === null;
  if (typeof v === 'string' && typeof lit === 'string') return v.toLowerCase() === lit;
  return v === lit;
}

function compareOp(v: Comparable, op: string, lit: Comparable | [number, number] | [string, string]): boolean {
  if (op === '=') return matchEquals(v, lit);
  if (op === '!=') return !matchEquals(v, lit);
  if (v === null || lit === null) return false;
  const [lo, hi] = Array.isArray(lit) ? lit : [lit, lit];
  switch (op) {
    case '<':
      return v < lo;
    case '<=':
      return Array.isArray(lit) ? v < hi : v <= lo;
    case '>':
      return Array.isArray(lit) ? v >= hi : v > lo;
    case '>=':
      return v >= lo;
    default:
      return false;
  }
}

function compareForSort(a: Comparable, b: Comparable, descending: boolean, nullsFirst: boolean): number {
  if (a === null || b === null) {
    if (a === b) return 0;
    return (a === null) === nullsFirst ? -1 : 1;
  }
  const c = a < b ? -1 : a > b ? 1 : 0;
  return descending ? -c : c;
}

function likeToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && (pattern[i + 1] === '%' || pattern[i + 1] === '_')) {
      re += pattern[i + 1];
      i++;
    } else if (c === '%') re += '.*';
    else if (c === '_') re += '.';
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'is');
}
