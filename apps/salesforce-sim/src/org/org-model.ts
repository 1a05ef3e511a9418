import type { FieldType, ObjectDefinition, OrgConfig } from './org.schema';

export type Value = string | number | boolean | null;
export type RecordData = Record<string, Value>;

export interface PicklistEntry {
  value: string;
  label: string;
  default: boolean;
  active: boolean;
}

/** A field after defaults are applied: what describe reports and what validation enforces. */
export interface FieldModel {
  name: string;
  label: string;
  type: FieldType;
  length: number;
  required: boolean;
  createable: boolean;
  updateable: boolean;
  nillable: boolean;
  custom: boolean;
  externalId: boolean;
  picklist?: { values: PicklistEntry[]; restricted: boolean };
  referenceTo: string[];
  relationshipName?: string;
  formula?: string;
  autoNumber?: string;
  defaultValue?: Value;
  precision: number;
  scale: number;
}

export interface ObjectModel {
  name: string;
  label: string;
  labelPlural: string;
  keyPrefix: string;
  custom: boolean;
  /** Feed tracking on: FeedItem.ParentId may point at its records. */
  feedEnabled: boolean;
  fields: FieldModel[];
  field(name: string): FieldModel | undefined;
  /** Reference field by relationship name (`Account` → AccountId), case-insensitive. */
  relationship(name: string): FieldModel | undefined;
}

const LENGTHS: Partial<Record<FieldType, number>> = {
  id: 18,
  reference: 18,
  string: 255,
  textarea: 32768,
  picklist: 255,
  email: 80,
  phone: 40,
  url: 255,
  formula: 1300,
};

const SYSTEM_FIELDS = [
  { name: 'Id', type: 'id', label: 'Record ID' },
  { name: 'IsDeleted', type: 'boolean', label: 'Deleted' },
  { name: 'CreatedDate', type: 'datetime', label: 'Created Date' },
  { name: 'CreatedById', type: 'reference', label: 'Created By ID', relationshipName: 'CreatedBy' },
  { name: 'LastModifiedDate', type: 'datetime', label: 'Last Modified Date' },
  { name: 'LastModifiedById', type: 'reference', label: 'Last Modified By ID', relationshipName: 'LastModifiedBy' },
  { name: 'SystemModstamp', type: 'datetime', label: 'System Modstamp' },
] as const;

/** Fields that only the platform writes: clients get INVALID_FIELD_FOR_INSERT_UPDATE. */
export const SYSTEM_FIELD_NAMES: ReadonlySet<string> = new Set(SYSTEM_FIELDS.map((f) => f.name));

function humanise(name: string): string {
  return name
    .replace(/__c$/, '')
    .replace(/_/g, ' ')
    .replace(/([a-z])([A-Z])/g, '$1 $2');
}

function compileObject(def: ObjectDefinition): ObjectModel {
  const custom = def.name.endsWith('__c');
  const fields: FieldModel[] = [];
  const declared = new Map(def.fields.map((f) => [f.name.toLowerCase(), f]));

  for (const sys of SYSTEM_FIELDS) {
    if (declared.has(sys.name.toLowerCase())) continue;
    fields.push({
      name: sys.name,
      label: sys.label,
      type: sys.type,
      length: LENGTHS[sys.type] ?? 0,
      required: false,
      createable: false,
      updateable: false,
      nillable: false,
      custom: false,
      externalId: false,
      referenceTo: sys.type === 'reference' ? ['User'] : [],
      relationshipName: 'relationshipName' in sys ? sys.relationshipName : undefined,
      precision: 0,
      scale: 0,
    });
  }

  for (const f of def.fields) {
    const isSystem = SYSTEM_FIELD_NAMES.has(f.name);
    const computed = f.type === 'formula' || !!f.autoNumber || f.type === 'id' || isSystem;
    const values = f.values?.map((v) =>
      typeof v === 'string'
        ? { value: v, label: v, default: false, active: true }
        : { value: v.value, label: v.label ?? v.value, default: v.default ?? false, active: v.active ?? true },
    );
    fields.push({
      name: f.name,
      label: f.label ?? humanise(f.name),
      type: f.type,
      length: f.length ?? LENGTHS[f.type] ?? 0,
      required: f.required ?? false,
      createable: f.createable ?? !computed,
      updateable: f.updateable ?? !computed,
      nillable: f.type !== 'boolean' && !f.required && f.type !== 'id',
      custom: f.name.endsWith('__c'),
      externalId: f.externalId ?? false,
      picklist: values ? { values, restricted: f.restricted ?? true } : undefined,
      referenceTo: f.referenceTo ? (Array.isArray(f.referenceTo) ? f.referenceTo : [f.referenceTo]) : [],
      relationshipName: f.relationshipName,
      formula: f.formula,
      autoNumber: f.autoNumber,
      defaultValue: f.default ?? (f.type === 'boolean' ? false : values?.find((v) => v.default)?.value),
      precision: f.precision ?? (f.type === 'double' || f.type === 'currency' || f.type === 'percent' ? 18 : 0),
      scale: f.scale ?? (f.type === 'currency' ? 2 : 0),
    });
  }

  const byName = new Map(fields.map((f) => [f.name.toLowerCase(), f]));
  const byRelationship = new Map(fields.filter((f) => f.relationshipName).map((f) => [f.relationshipName!.toLowerCase(), f] as const));
  return {
    name: def.name,
    label: def.label ?? humanise(def.name),
    labelPlural: def.labelPlural ?? `${def.label ?? humanise(def.name)}s`,
    keyPrefix: def.keyPrefix,
    custom,
    feedEnabled: def.feedEnabled ?? false,
    fields,
    field: (name) => byName.get(name.toLowerCase()),
    relationship: (name) => byRelationship.get(name.toLowerCase()),
  };
}

/** The org's schema: objects by name and by id key prefix. */
export class OrgModel {
  readonly objects: ObjectModel[];
  private readonly byName: Map<string, ObjectModel>;
  private readonly byPrefix: Map<string, ObjectModel>;

  constructor(config: Pick<OrgConfig, 'objects'>) {
    this.objects = config.objects.map(compileObject);
    this.byName = new Map(this.objects.map((o) => [o.name.toLowerCase(), o]));
    this.byPrefix = new Map(this.objects.map((o) => [o.keyPrefix, o]));
    if (this.byPrefix.size !== this.objects.length) throw new Error('two objects share a key prefix');
    // A Chatter post's parent is any feed-tracked object, and only those (FeedItem.ParentId is polymorphic).
    const feedParent = this.byName.get('feeditem')?.field('ParentId');
    if (feedParent) {
      const tracked = this.objects.filter((o) => o.feedEnabled).map((o) => o.name.toLowerCase());
      const targets = feedParent.referenceTo.map((r) => r.toLowerCase());
      const odd = [...tracked.filter((t) => !targets.includes(t)), ...targets.filter((t) => !tracked.includes(t))];
      if (odd.length)
        throw new Error(
          `FeedItem.ParentId.referenceTo must list exactly the objects with feedEnabled: true (differs on ${odd.join(', ')})`,
        );
    }
    for (const o of this.objects) {
      for (const f of o.fields) {
        for (const target of f.referenceTo) {
          if (!this.byName.has(target.toLowerCase())) throw new Error(`${o.name}.${f.name} references unknown object ${target}`);
        }
      }
    }
  }

  object(name: string): ObjectModel | undefined {
    return this.byName.get(name.toLowerCase());
  }

  objectForId(id: string): ObjectModel | undefined {
    return this.byPrefix.get(id.slice(0, 3));
  }

  /** Child relationships pointing at `target`, for describe. */
  childRelationships(target: ObjectModel): { childSObject: string; field: string; relationshipName: string | null }[] {
    const out: { childSObject: string; field: string; relationshipName: string | null }[] = [];
    for (const o of this.objects) {
      for (const f of o.fields) {
        if (!f.referenceTo.some((r) => r.toLowerCase() === target.name.toLowerCase())) continue;
        const system = SYSTEM_FIELD_NAMES.has(f.name);
        out.push({
          childSObject: o.name,
          field: f.name,
          relationshipName: system ? null : o.custom ? `${o.name.replace(/__c$/, '')}s__r` : o.labelPlural.replace(/\s+/g, ''),
        });
      }
    }
    return out;
  }
}
