// The mapping editor's Field Nation lookups (issue 16, part 2): a connection's catalogues (types of
// work, custom fields, templates, projects) searched as `broker fieldnation lookup` does, each entry
// with the text a row takes to name it (`{ typeOfWork: "Point of Sale" }`, docs/mapping.md "Names
// instead of ids") or to number it. The lists come through libs/fieldnation's catalogue cache, the one
// the name resolution reads, so looking again within its TTL asks Field Nation nothing.
import { CATALOGUE_ENDPOINTS, searchCatalogue, type Catalogue, type CatalogueKind } from '@broker/fieldnation';

/** The pickers' catalogues by their CLI spelling (the endpoint's name), in the order the picker offers them. */
export const LOOKUP_CATALOGUES = Object.fromEntries(
  Object.entries(CATALOGUE_ENDPOINTS).map(([kind, e]) => [e.cli, kind as CatalogueKind]),
) as Record<string, CatalogueKind>;

export const LOOKUP_LABELS: Record<CatalogueKind, { many: string; detail: string }> = {
  typesOfWork: { many: 'types of work', detail: 'Industry' },
  customFields: { many: 'custom fields', detail: 'Type' },
  templates: { many: 'templates', detail: '' },
  projects: { many: 'projects', detail: '' },
};

/** The key of a mapping's name reference per catalogue (mapping-names.ts REF_KEYS, reversed). */
const REF_KEY: Record<CatalogueKind, string> = {
  typesOfWork: 'typeOfWork',
  customFields: 'customField',
  templates: 'template',
  projects: 'project',
};

/**
 * Where a chosen entry goes in the selected row. A custom field is a target of its own
 * (`customFields.<name or id>`); the others are values, and a blank row gets the target they are
 * usually the value of (a type of work as the primary one of `types_of_work`).
 */
export const LOOKUP_FILL: Record<CatalogueKind, { part: 'target' | 'options'; target?: string; list?: boolean }> = {
  typesOfWork: { part: 'options', target: 'types_of_work', list: true },
  customFields: { part: 'target' },
  templates: { part: 'options', target: 'template.id' },
  projects: { part: 'options', target: 'project.id' },
};

export interface LookupEntry {
  id: number;
  name: string;
  detail?: string;
  /** What the row takes to name it; absent when it has no name, or shares it (a name must be unique to resolve). */
  byName?: string;
  byId: string;
  /** Other entries carry the same name. */
  ambiguous: boolean;
}

export interface LookupResult {
  catalogue: string;
  kind: CatalogueKind;
  search: string;
  entries: LookupEntry[];
  /** Entries in the catalogue (before the search). */
  listed: number;
  /** False when Field Nation said it holds more than it returned (no documented way to page further). */
  complete: boolean;
  total: number;
}

const normal = (s: string) => s.trim().replace(/\s+/g, ' ').toLowerCase();

/** A catalogue searched (case-insensitive substring of the name, or the exact id), each hit with the texts a row takes. */
export function lookupResult(catalogue: string, list: Catalogue, search: string): LookupResult {
  const kind = list.kind;
  const names = new Map<string, number>();
  for (const item of list.items) if (item.name) names.set(normal(item.name), (names.get(normal(item.name)) ?? 0) + 1);
  const entries = searchCatalogue(list.items, search).map((item) => {
    const ambiguous = !!item.name && (names.get(normal(item.name)) ?? 0) > 1;
    const named = item.name && !ambiguous ? item.name : undefined;
    return {
      id: item.id,
      name: item.name,
      ...(item.detail ? { detail: item.detail } : {}),
      // JSON's quoted string is a YAML double-quoted scalar: any name survives (colons, quotes, #).
      ...(named ? { byName: kind === 'customFields' ? `customFields.${named}` : `{ ${REF_KEY[kind]}: ${JSON.stringify(named)} }` } : {}),
      byId: kind === 'customFields' ? `customFields.${item.id}` : String(item.id),
      ambiguous,
    };
  });
  return { catalogue, kind, search, entries, listed: list.items.length, complete: list.complete, total: list.total };
}
