/**
 * Field Nation catalogue entries named instead of numbered in a mapping: `{ typeOfWork: "Point of
 * Sale" }`, `{ customField: "Store Number" }`, `{ template: "POS Replacement" }`, `{ project: "Retail
 * Rollout 2026" }` wherever a constant id may stand (a `value:`, a `default:`, a value or range map's
 * result or fallback), and custom fields keyed by name under `customFields:`. They are resolved to ids
 * before compiling, against catalogues the caller fetched from Field Nation (the engine does no I/O).
 */
import { closest } from './fieldnation-targets';
import type { MappingIssue } from './mapping-types';

export type CatalogueKind = 'typesOfWork' | 'customFields' | 'templates' | 'projects';

export interface CatalogueEntry {
  id: number;
  name: string;
}

/** The catalogues of one Field Nation company, by kind; only the kinds a mapping names are needed. */
export type NameCatalogues = Partial<Record<CatalogueKind, readonly CatalogueEntry[]>>;

/** The key of a reference object → the catalogue it names. */
export const REF_KEYS: Record<string, CatalogueKind> = {
  typeOfWork: 'typesOfWork',
  customField: 'customFields',
  template: 'templates',
  project: 'projects',
};

export const CATALOGUE_LABEL: Record<CatalogueKind, { one: string; many: string; where: string }> = {
  typesOfWork: { one: 'type of work', many: 'types of work', where: 'types-of-work' },
  customFields: { one: 'custom field', many: 'custom fields', where: 'custom-fields' },
  templates: { one: 'template', many: 'templates', where: 'templates' },
  projects: { one: 'project', many: 'projects', where: 'projects' },
};

type Raw = Record<string, unknown>;
const isObject = (v: unknown): v is Raw => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `{ typeOfWork: "Point of Sale" }`: exactly one known key with a text value. */
export function asNameRef(v: unknown): { kind: CatalogueKind; name: string } | undefined {
  if (!isObject(v)) return undefined;
  const keys = Object.keys(v);
  if (keys.length !== 1) return undefined;
  const kind = REF_KEYS[keys[0]!];
  const name = v[keys[0]!];
  return kind && typeof name === 'string' ? { kind, name } : undefined;
}

export interface NameUse {
  kind: CatalogueKind;
  name: string;
  /** The entry (target path, or custom_fields.<name>) naming it. */
  target: string;
}

/** Custom-field keys that are not ids are names. */
const isIdKey = (k: string) => /^\d+$/.test(k);

/**
 * Rewrite `raw` (a parsed mapping file) with every name replaced by `replace`'s answer; `replace`
 * is called once per use. Returns a copy; `raw` is not changed.
 */
function rewrite(raw: Raw, replace: (use: NameUse) => unknown): Raw {
  const visit = (v: unknown, target: string, inConstant: boolean): unknown => {
    const ref = asNameRef(v);
    if (ref && inConstant) return replace({ ...ref, target });
    if (Array.isArray(v)) return v.map((x) => visit(x, target, inConstant));
    if (!isObject(v)) return v;
    const out: Raw = {};
    for (const [k, x] of Object.entries(v)) out[k] = visit(x, target, inConstant);
    return out;
  };
  // Inside an entry, names stand where constants do; `fields:`/`list:` nest entries (their own targets).
  const entry = (e: unknown, target: string): unknown => {
    if (!isObject(e)) return e;
    const out: Raw = { ...e };
    if ('value' in e) out.value = visit(e.value, target, true);
    if ('default' in e) out.default = visit(e.default, target, true);
    if (Array.isArray(e.transform)) out.transform = e.transform.map((s) => visit(s, target, true));
    if (isObject(e.fields)) out.fields = Object.fromEntries(Object.entries(e.fields).map(([k, x]) => [k, entry(x, `${target}.${k}`)]));
    if (Array.isArray(e.list)) out.list = e.list.map((x, i) => entry(x, `${target}[${i}]`));
    return out;
  };
  const out: Raw = { ...raw };
  if (isObject(raw.fields)) out.fields = Object.fromEntries(Object.entries(raw.fields).map(([k, e]) => [k, entry(e, k)]));
  if (isObject(raw.customFields)) {
    out.customFields = Object.fromEntries(
      Object.entries(raw.customFields).map(([k, e]) => {
        const key = isIdKey(k) ? k : replace({ kind: 'customFields', name: k, target: `custom_fields.${k}` });
        return [String(key), entry(e, `custom_fields.${k}`)];
      }),
    );
  }
  return out;
}

/** Every name a parsed mapping uses (empty: the mapping needs no Field Nation lookup). */
export function findNameUses(raw: unknown): NameUse[] {
  if (!isObject(raw)) return [];
  const uses: NameUse[] = [];
  rewrite(raw, (u) => {
    uses.push(u);
    return u.name;
  });
  return uses;
}

/** Issues of names whose catalogue was not given (a caller that failed to fetch it reports that instead). */
const WITHOUT_CATALOGUE = new WeakSet<MappingIssue>();
export const isMissingCatalogueIssue = (issue: MappingIssue): boolean => WITHOUT_CATALOGUE.has(issue);

const normal = (s: string) => s.trim().replace(/\s+/g, ' ').toLowerCase();

/** One name against a catalogue: the id, or the issue (unknown, ambiguous) with close candidates. */
export function resolveName(use: NameUse, entries: readonly CatalogueEntry[]): { id: number } | { issue: MappingIssue } {
  const label = CATALOGUE_LABEL[use.kind];
  const hits = entries.filter((e) => normal(e.name) === normal(use.name));
  if (hits.length === 1) return { id: hits[0]!.id };
  const show = (e: CatalogueEntry) => `"${e.name}" (${e.id})`;
  if (hits.length > 1) {
    return {
      issue: {
        target: use.target,
        message: `${label.one} "${use.name}" is ambiguous: ${hits.length} ${label.many} have that name: ${hits.map(show).join(', ')}`,
        fix: `use the id instead of the name, or rename all but one on Field Nation (broker fieldnation lookup ${label.where} --search "${use.name}")`,
      },
    };
  }
  const near = closest(
    use.name,
    entries.map((e) => e.name),
    5,
  );
  const candidates = entries.filter((e) => near.includes(e.name));
  return {
    issue: {
      target: use.target,
      message: `no ${label.one} named "${use.name}" on this Field Nation company${candidates.length ? `; close: ${candidates.map(show).join(', ')}` : ''}`,
      fix: `use a name or id from \`broker fieldnation lookup ${label.where}\` (names and ids differ between sandbox and production)`,
    },
  };
}

/**
 * Replace every name of a parsed mapping by its id. Names whose catalogue is not given, and names
 * that are unknown or ambiguous, become issues.
 */
export function resolveNames(raw: unknown, catalogues: NameCatalogues | undefined): { raw: unknown; issues: MappingIssue[] } {
  if (!isObject(raw)) return { raw, issues: [] };
  const issues: MappingIssue[] = [];
  const resolved = rewrite(raw, (use) => {
    const entries = catalogues?.[use.kind];
    if (!entries) {
      const label = CATALOGUE_LABEL[use.kind];
      const issue: MappingIssue = {
        target: use.target,
        message: `names the ${label.one} "${use.name}", which only Field Nation can turn into an id, and this load has no Field Nation lookup`,
        fix: `load the mapping through the connection (broker config validate, the apps do) or write the id (broker fieldnation lookup ${label.where} --search "${use.name}")`,
      };
      WITHOUT_CATALOGUE.add(issue);
      issues.push(issue);
      // Null in its place: the target check then has nothing more to say about it.
      return use.kind === 'customFields' ? use.name : null;
    }
    const r = resolveName(use, entries);
    if ('issue' in r) {
      issues.push(r.issue);
      return use.kind === 'customFields' ? use.name : null;
    }
    return r.id;
  });
  return { raw: resolved, issues };
}
