import { makeId } from '@broker/salesforce';
import { SfError, notFound } from '../core/sf-error';
import { coerceFieldValue, normaliseId } from '../core/values';
import type { VirtualClock } from '../core/virtual-clock';
import { applyFeedRules } from './feed-rules';
import { SYSTEM_FIELD_NAMES, type FieldModel, type ObjectModel, type OrgModel, type RecordData, type Value } from './org-model';

/** A committed change, handed to automation (flows) after the transaction commits. */
export interface RecordEvent {
  op: 'create' | 'update' | 'delete';
  object: string;
  id: string;
  before?: RecordData;
  after: RecordData;
  userId: string;
}

interface UndoEntry {
  object: string;
  id: string;
  prev: RecordData | undefined;
}

/** Id pod used for every generated id (3 characters after the key prefix). */
export const ID_POD = '000';

/**
 * The org's records, in memory. Every write goes through `create`/`update`/`remove`, which validate like
 * the REST API, maintain the system fields for the acting user, and record undo entries so that a
 * composite or allOrNone request can roll back. Events reach listeners only when the outermost
 * transaction commits, as after-save flows only run for committed saves.
 */
export class OrgStore {
  private readonly tables = new Map<string, Map<string, RecordData>>();
  private readonly idCounters = new Map<string, number>();
  private readonly autoNumbers = new Map<string, number>();
  private undo: UndoEntry[] = [];
  private pending: RecordEvent[] = [];
  private depth = 0;
  private readonly listeners: ((events: RecordEvent[]) => void)[] = [];

  constructor(
    readonly model: OrgModel,
    private readonly clock: VirtualClock,
  ) {
    for (const o of model.objects) this.tables.set(o.name.toLowerCase(), new Map());
  }

  onCommit(listener: (events: RecordEvent[]) => void): void {
    this.listeners.push(listener);
  }

  objectOrThrow(name: string): ObjectModel {
    const o = this.model.object(name);
    if (!o) throw notFound();
    return o;
  }

  private table(o: ObjectModel): Map<string, RecordData> {
    return this.tables.get(o.name.toLowerCase())!;
  }

  nextId(o: ObjectModel): string {
    const table = this.table(o);
    let n = this.idCounters.get(o.keyPrefix) ?? 0;
    let id: string;
    do {
      n += 1;
      id = makeId(o.keyPrefix, n, ID_POD);
    } while (table.has(id));
    this.idCounters.set(o.keyPrefix, n);
    return id;
  }

  private nextAutoNumber(o: ObjectModel, f: FieldModel): string {
    const key = `${o.name}.${f.name}`;
    const n = (this.autoNumbers.get(key) ?? 0) + 1;
    this.autoNumbers.set(key, n);
    const fmt = f.autoNumber ?? '{0}';
    return fmt.replace(/\{(0+)\}/, (_m, zeros: string) => String(n).padStart(zeros.length, '0'));
  }

  /** Run `fn` as one transaction: all its writes commit together or roll back together. */
  transaction<T>(fn: () => T): T {
    const undoMark = this.undo.length;
    const eventMark = this.pending.length;
    this.depth += 1;
    try {
      const result = fn();
      this.depth -= 1;
      if (this.depth === 0) this.commit();
      return result;
    } catch (err) {
      this.depth -= 1;
      this.rollbackTo(undoMark, eventMark);
      if (this.depth === 0) this.commit();
      throw err;
    }
  }

  /** Roll back everything done inside the current transaction so far (allOrNone failures). */
  rollbackTo(undoMark: number, eventMark: number): void {
    while (this.undo.length > undoMark) {
      const u = this.undo.pop()!;
      const table = this.tables.get(u.object.toLowerCase())!;
      if (u.prev) table.set(u.id, u.prev);
      else table.delete(u.id);
    }
    this.pending.length = eventMark;
  }

  marks(): { undo: number; events: number } {
    return { undo: this.undo.length, events: this.pending.length };
  }

  private commit(): void {
    const events = this.pending;
    this.pending = [];
    this.undo = [];
    if (events.length) for (const l of this.listeners) l(events);
  }

  private write(o: ObjectModel, id: string, next: RecordData, event: RecordEvent): void {
    const table = this.table(o);
    this.undo.push({ object: o.name, id, prev: table.get(id) });
    table.set(id, next);
    this.pending.push(event);
  }

  /** Writes `next` over an existing record, with the event carrying both versions. */
  private writeChange(o: ObjectModel, op: 'update' | 'delete', before: RecordData, next: RecordData, userId: string): void {
    const id = before.Id as string;
    this.write(o, id, next, { op, object: o.name, id, before: { ...before }, after: { ...next }, userId });
  }

  /** A live (not deleted) record by id, any object. */
  get(id: string, includeDeleted = false): { object: ObjectModel; record: RecordData } | undefined {
    const id18 = normaliseId(id);
    if (!id18) return undefined;
    const o = this.model.objectForId(id18);
    if (!o) return undefined;
    const record = this.table(o).get(id18);
    if (!record || (record.IsDeleted && !includeDeleted)) return undefined;
    return { object: o, record };
  }

  all(o: ObjectModel, includeDeleted = false): RecordData[] {
    const rows = [...this.table(o).values()];
    return includeDeleted ? rows : rows.filter((r) => !r.IsDeleted);
  }

  findUser(username: string): RecordData | undefined {
    const users = this.model.object('User');
    if (!users) return undefined;
    return this.all(users).find((u) => String(u.Username ?? '').toLowerCase() === username.toLowerCase());
  }

  /** Value of a field, computing formulas. */
  value(o: ObjectModel, record: RecordData, field: FieldModel): Value {
    if (field.type === 'formula' && field.formula) {
      return field.formula
        .replace(/\{([A-Za-z0-9_.]+)\}/g, (_m, path: string) => {
          const v = this.resolvePath(o, record, path.split('.'));
          return v === null || v === undefined ? '' : String(v);
        })
        .trim();
    }
    return record[field.name] ?? null;
  }

  /** Follow a dotted path (`Account.Owner.Email`) from a record; null when any parent is empty. */
  resolvePath(o: ObjectModel, record: RecordData, segments: string[]): Value {
    let obj = o;
    let rec = record;
    for (let i = 0; i < segments.length - 1; i++) {
      const rel = obj.relationship(segments[i]!);
      if (!rel) return null;
      const parent = this.parent(rec, rel);
      if (!parent) return null;
      obj = parent.object;
      rec = parent.record;
    }
    const f = obj.field(segments[segments.length - 1]!);
    return f ? this.value(obj, rec, f) : null;
  }

  parent(record: RecordData, rel: FieldModel): { object: ObjectModel; record: RecordData } | undefined {
    const id = record[rel.name];
    return typeof id === 'string' ? this.get(id) : undefined;
  }

  private checkReference(f: FieldModel, id: string, trusted: boolean): void {
    const target = this.model.objectForId(id);
    if (!target || !f.referenceTo.some((r) => r.toLowerCase() === target.name.toLowerCase()))
      throw new SfError(400, 'MALFORMED_ID', `${f.label}: id value of incorrect type: ${id}`, [f.name]);
    if (!trusted && !this.get(id)) throw new SfError(400, 'INVALID_CROSS_REFERENCE_KEY', `invalid cross reference id`, [f.name]);
  }

  private applyInput(o: ObjectModel, data: Record<string, unknown>, mode: 'create' | 'update', target: RecordData, trusted: boolean): void {
    for (const [key, raw] of Object.entries(data)) {
      if (key === 'attributes') continue;
      const f = o.field(key);
      if (!f) throw new SfError(400, 'INVALID_FIELD', `No such column '${key}' on sobject of type ${o.name}`);
      if (f.name === 'Id') {
        if (mode === 'create' && !trusted)
          throw new SfError(400, 'INVALID_FIELD', 'The Id field should not be specified in the sobject data.');
        if (mode === 'update' && normaliseId(String(raw)) !== target.Id)
          throw new SfError(400, 'INVALID_FIELD', 'The Id field should not be specified in the sobject data.');
        continue;
      }
      const allowed = trusted || (mode === 'create' ? f.createable : f.updateable);
      if (!allowed || (!trusted && SYSTEM_FIELD_NAMES.has(f.name)))
        throw new SfError(
          400,
          'INVALID_FIELD_FOR_INSERT_UPDATE',
          `Unable to create/update fields: ${f.name}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
          [f.name],
        );
      const value = coerceFieldValue(f, raw);
      if (f.type === 'reference' && typeof value === 'string') this.checkReference(f, value, trusted);
      target[f.name] = value;
    }
  }

  private checkRequired(o: ObjectModel, record: RecordData): void {
    const missing = o.fields.filter(
      (f) => f.required && (record[f.name] === null || record[f.name] === undefined || record[f.name] === ''),
    );
    if (missing.length)
      throw new SfError(
        400,
        'REQUIRED_FIELD_MISSING',
        `Required fields are missing: [${missing.map((f) => f.name).join(', ')}]`,
        missing.map((f) => f.name),
      );
  }

  /**
   * Insert a record as `userId`. `trusted` (seeding) may set system fields and an explicit Id.
   */
  create(objectName: string, data: Record<string, unknown>, userId: string, trusted = false): string {
    const o = this.objectOrThrow(objectName);
    return this.transaction(() => {
      const record: RecordData = {};
      for (const f of o.fields) if (f.defaultValue !== undefined) record[f.name] = f.defaultValue;
      this.applyInput(o, data, 'create', record, trusted);
      const explicit = trusted && typeof data.Id === 'string' ? normaliseId(data.Id) : undefined;
      const id = explicit ?? this.nextId(o);
      const now = this.clock.nowIso();
      for (const f of o.fields) {
        if (f.autoNumber && record[f.name] == null) record[f.name] = this.nextAutoNumber(o, f);
        if (!(f.name in record)) record[f.name] = f.type === 'boolean' ? false : null;
      }
      record.Id = id;
      record.IsDeleted = false;
      record.CreatedDate ??= now;
      record.CreatedById ??= userId;
      record.LastModifiedDate ??= record.CreatedDate;
      record.LastModifiedById ??= record.CreatedById;
      record.SystemModstamp ??= record.LastModifiedDate;
      if (o.field('OwnerId') && record.OwnerId == null) record.OwnerId = userId;
      applyFeedRules(o, record, userId, (ref) => this.get(ref));
      if (!trusted) this.checkRequired(o, record);
      this.write(o, id, record, { op: 'create', object: o.name, id, after: { ...record }, userId });
      return id;
    });
  }

  update(objectName: string | undefined, id: string, data: Record<string, unknown>, userId: string, trusted = false): void {
    const found = this.locate(objectName, id);
    const { object: o, record: before } = found;
    this.transaction(() => {
      const next: RecordData = { ...before };
      this.applyInput(o, data, 'update', next, trusted);
      this.checkRequired(o, next);
      const now = this.clock.nowIso();
      if (!trusted || !('LastModifiedDate' in data)) next.LastModifiedDate = now;
      if (!trusted || !('LastModifiedById' in data)) next.LastModifiedById = userId;
      next.SystemModstamp = now;
      this.writeChange(o, 'update', before, next, userId);
    });
  }

  /** Seeding only: set fields without touching system fields or emitting events. */
  patchTrusted(id: string, data: Record<string, unknown>): void {
    const { object: o, record } = this.locate(undefined, id);
    const next: RecordData = { ...record };
    this.applyInput(o, data, 'update', next, true);
    this.checkRequired(o, next);
    this.table(o).set(record.Id as string, next);
  }

  remove(objectName: string | undefined, id: string, userId: string): void {
    const { object: o, record: before } = this.locate(objectName, id);
    this.transaction(() => {
      const now = this.clock.nowIso();
      const next: RecordData = { ...before, IsDeleted: true, LastModifiedDate: now, LastModifiedById: userId, SystemModstamp: now };
      this.writeChange(o, 'delete', before, next, userId);
    });
  }

  /**
   * Find the record an id-bearing request points at: MALFORMED_ID for something that is not an id of
   * this object, NOT_FOUND for a well-formed id that does not exist (or was deleted).
   */
  locate(objectName: string | undefined, id: string): { object: ObjectModel; record: RecordData } {
    const o = objectName ? this.objectOrThrow(objectName) : undefined;
    const id18 = normaliseId(id);
    const owner = id18 ? this.model.objectForId(id18) : undefined;
    if (!id18 || !owner || (o && owner !== o))
      throw new SfError(400, 'MALFORMED_ID', `${o?.name ?? 'Record'} ID: id value of incorrect type: ${id}`, ['Id']);
    const record = this.table(owner).get(id18);
    if (!record) throw notFound();
    if (record.IsDeleted) throw new SfError(404, 'ENTITY_IS_DELETED', 'entity is deleted', []);
    return { object: owner, record };
  }
}
