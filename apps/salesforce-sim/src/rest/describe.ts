import type { FieldModel, ObjectModel, OrgModel } from '../org/org-model';

const SOAP_TYPES: Record<string, string> = {
  id: 'tns:ID',
  reference: 'tns:ID',
  boolean: 'xsd:boolean',
  date: 'xsd:date',
  datetime: 'xsd:dateTime',
  double: 'xsd:double',
  currency: 'xsd:double',
  percent: 'xsd:double',
  int: 'xsd:int',
};

function urls(o: ObjectModel, version: string): Record<string, string> {
  const base = `/services/data/v${version}/sobjects/${o.name}`;
  return { compactLayouts: `${base}/describe/compactLayouts`, rowTemplate: `${base}/{ID}`, describe: `${base}/describe`, sobject: base };
}

export function describeField(f: FieldModel): Record<string, unknown> {
  const type = f.type === 'formula' ? 'string' : f.type;
  const numeric = ['double', 'currency', 'percent', 'int'].includes(f.type);
  return {
    aggregatable: f.type !== 'textarea',
    autoNumber: !!f.autoNumber,
    byteLength: f.length * 3,
    calculated: f.type === 'formula',
    calculatedFormula: f.formula ?? null,
    cascadeDelete: false,
    caseSensitive: false,
    createable: f.createable,
    custom: f.custom,
    defaultValue: f.type === 'boolean' ? (f.defaultValue ?? false) : null,
    defaultValueFormula: null,
    defaultedOnCreate:
      f.defaultValue !== undefined ||
      f.name === 'Id' ||
      !!f.autoNumber ||
      ['OwnerId', 'CreatedDate', 'CreatedById', 'LastModifiedDate', 'LastModifiedById', 'SystemModstamp', 'IsDeleted'].includes(f.name),
    dependentPicklist: false,
    digits: f.type === 'int' ? 9 : 0,
    externalId: f.externalId,
    filterable: f.type !== 'textarea',
    groupable: !['textarea', 'datetime', 'double', 'currency', 'percent'].includes(f.type),
    htmlFormatted: false,
    idLookup: f.name === 'Id' || f.externalId,
    inlineHelpText: null,
    label: f.label,
    length: numeric || ['boolean', 'date', 'datetime'].includes(f.type) ? 0 : f.length,
    name: f.name,
    nameField: f.name === 'Name',
    namePointing: f.type === 'reference' && f.referenceTo.length > 1,
    nillable: f.nillable,
    permissionable: f.custom && !f.required,
    picklistValues: (f.picklist?.values ?? []).map((v) => ({
      active: v.active,
      defaultValue: v.default,
      label: v.label,
      validFor: null,
      value: v.value,
    })),
    polymorphicForeignKey: f.referenceTo.length > 1,
    precision: numeric && f.type !== 'int' ? f.precision : 0,
    referenceTargetField: null,
    referenceTo: f.referenceTo,
    relationshipName: f.relationshipName ?? null,
    relationshipOrder: null,
    restrictedPicklist: !!f.picklist?.restricted,
    scale: f.scale,
    soapType: SOAP_TYPES[f.type] ?? 'xsd:string',
    sortable: f.type !== 'textarea',
    type,
    unique: false,
    updateable: f.updateable,
    writeRequiresMasterRead: false,
  };
}

function flags(o: ObjectModel): Record<string, boolean> {
  return {
    activateable: false,
    createable: true,
    custom: o.custom,
    customSetting: false,
    deletable: true,
    deprecatedAndHidden: false,
    feedEnabled: o.feedEnabled,
    hasSubtypes: false,
    isSubtype: false,
    layoutable: true,
    mergeable: false,
    mruEnabled: true,
    queryable: true,
    replicateable: true,
    retrieveable: true,
    searchable: true,
    triggerable: true,
    undeletable: true,
    updateable: true,
  };
}

export function describeGlobalEntry(o: ObjectModel, version: string): Record<string, unknown> {
  return { ...flags(o), keyPrefix: o.keyPrefix, label: o.label, labelPlural: o.labelPlural, name: o.name, urls: urls(o, version) };
}

export function describeGlobal(model: OrgModel, version: string): Record<string, unknown> {
  return { encoding: 'UTF-8', maxBatchSize: 200, sobjects: model.objects.map((o) => describeGlobalEntry(o, version)) };
}

export function describeSObject(model: OrgModel, o: ObjectModel, version: string): Record<string, unknown> {
  return {
    actionOverrides: [],
    ...flags(o),
    childRelationships: model.childRelationships(o).map((c) => ({
      cascadeDelete: false,
      childSObject: c.childSObject,
      deprecatedAndHidden: false,
      field: c.field,
      junctionIdListNames: [],
      junctionReferenceTo: [],
      relationshipName: c.relationshipName,
      restrictedDelete: false,
    })),
    compactLayoutable: true,
    fields: o.fields.map(describeField),
    keyPrefix: o.keyPrefix,
    label: o.label,
    labelPlural: o.labelPlural,
    name: o.name,
    namedLayoutInfos: [],
    networkScopeFieldName: null,
    recordTypeInfos: [],
    searchLayoutable: true,
    supportedScopes: [{ label: 'All ' + o.labelPlural.toLowerCase(), name: 'everything' }],
    urls: urls(o, version),
  };
}
