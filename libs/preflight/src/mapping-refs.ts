import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { readConfigFile, resolveConfigPath, type ConnectionConfig, type LoadedConfig } from '@broker/config';

export type RefKind = 'typesOfWork' | 'customFields' | 'templates' | 'projects';

/** Field Nation ids a connection's mappings and config name, each with where it is named. */
export interface FieldNationRefs {
  ids: Record<RefKind, Map<number, string[]>>;
  /** Targets whose id comes from Salesforce data or an expression: only a real record shows it. */
  dynamic: { kind: RefKind; where: string }[];
}

const TARGETS: [RegExp, RefKind][] = [
  [/^types?_of_work(\[\d*\])?(\.id)?$/, 'typesOfWork'],
  [/^template(\.id)?$/, 'templates'],
  [/^project(\.id)?$/, 'projects'],
];

type Raw = Record<string, unknown>;
const isObject = (v: unknown): v is Raw => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Integer ids in a constant: 27, "27", [27, 45], [{ id: 27, isPrimary: true }], { id: 433 }. */
function idsIn(value: unknown, out: Set<number>): void {
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) out.add(value);
  else if (typeof value === 'string' && /^\d+$/.test(value.trim())) out.add(Number(value));
  else if (Array.isArray(value)) value.forEach((v) => idsIn(v, out));
  else if (isObject(value) && 'id' in value) idsIn(value.id, out);
}

/**
 * The constant ids an entry can produce (value, default, value/range map results and fallbacks),
 * and whether it can also produce ids it reads from the record (no map, a `keep` or `from`
 * fallback, an expression).
 */
function entryIds(entry: unknown): { ids: Set<number>; dynamic: boolean } {
  const ids = new Set<number>();
  if (!isObject(entry)) return { ids, dynamic: typeof entry === 'string' };
  let dynamic = Boolean(entry.jsonata || entry.jsonnet);
  if ('value' in entry) idsIn(entry.value, ids);
  if ('default' in entry) idsIn(entry.default, ids);
  const steps = Array.isArray(entry.transform) ? entry.transform.filter(isObject) : [];
  const maps = steps.filter((s) => 'map' in s || 'range' in s);
  if ((entry.from || entry.concat || entry.template) && maps.length === 0) dynamic = true;
  for (const step of maps) {
    if (isObject(step.map)) Object.values(step.map).forEach((v) => idsIn(v, ids));
    if (Array.isArray(step.range)) step.range.filter(isObject).forEach((r) => idsIn(r.value, ids));
    const fb = step.fallback;
    if (fb === 'keep' || (isObject(fb) && 'from' in fb)) dynamic = true;
    else if (isObject(fb)) idsIn(fb.value, ids);
    else idsIn(fb, ids);
  }
  return { ids, dynamic };
}

/** Read the Field Nation ids out of a connection's mapping files and its correlation settings. */
export function fieldNationRefs(config: LoadedConfig, connection: ConnectionConfig): FieldNationRefs {
  const refs: FieldNationRefs = {
    ids: { typesOfWork: new Map(), customFields: new Map(), templates: new Map(), projects: new Map() },
    dynamic: [],
  };
  const add = (kind: RefKind, id: number, where: string) => {
    const list = refs.ids[kind].get(id) ?? [];
    if (!list.includes(where)) list.push(where);
    refs.ids[kind].set(id, list);
  };
  for (const [object, settings] of Object.entries(connection.objects)) {
    if ('customFieldId' in settings.correlation) add('customFields', settings.correlation.customFieldId, `objects.${object}.correlation`);
    if (!settings.mapping) continue;
    // The apps already compiled this file at start-up (and `config validate` does): it parses.
    const file = resolveConfigPath(config, settings.mapping);
    const doc = parseYaml(readConfigFile(config, settings.mapping)) as Raw;
    const label = path.basename(file);
    // A key that is not an id is a name, resolved against the catalogue itself when the mapping loads.
    for (const id of Object.keys(isObject(doc.customFields) ? doc.customFields : {}))
      if (/^\d+$/.test(id)) add('customFields', Number(id), `${label}: customFields.${id}`);
    const walk = (target: string, entry: unknown) => {
      if (isObject(entry) && isObject(entry.fields)) {
        for (const [k, sub] of Object.entries(entry.fields)) walk(`${target}.${k}`, sub);
        return;
      }
      if (isObject(entry) && Array.isArray(entry.list)) {
        entry.list.forEach((item) => walk(`${target}[]`, item));
        return;
      }
      const kind = TARGETS.find(([re]) => re.test(target.replace(/\[\]\./g, '.').replace(/\[\]$/, '')))?.[1];
      if (!kind) return;
      const found = entryIds(entry);
      for (const id of found.ids) add(kind, id, `${label}: ${target}`);
      if (found.dynamic) refs.dynamic.push({ kind, where: `${label}: ${target}` });
    };
    for (const [target, entry] of Object.entries(isObject(doc.fields) ? doc.fields : {})) walk(target, entry);
  }
  return refs;
}
