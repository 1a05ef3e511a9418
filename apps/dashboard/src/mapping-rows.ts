// The mapping editor's rows: one Field Nation target each, with its source, action and options, and
// the mapping file they make. Entries the rows cannot express exactly (defaults, null policies, nested
// `fields:`, transform chains…) stay as they are written, in a "YAML" row, so that loading a mapping
// into the editor and saving it back never loses anything; what a row did not change keeps its comments.
import { isDeepStrictEqual } from 'node:util';
import { isMap, isNode, isScalar, parse as parseYaml, parseDocument, stringify, type Document, type Pair, type YAMLMap } from 'yaml';
import type { MappingIssue } from '@broker/mapping';

export const ACTIONS = {
  from: 'sync (copy a field)',
  value: 'static value',
  map: 'value map',
  range: 'range map',
  date: 'date / time',
  concat: 'concat',
  template: 'template',
  jsonata: 'JSONata',
  jsonnet: 'Jsonnet',
  yaml: 'YAML entry (as written)',
} as const;
export type Action = keyof typeof ACTIONS;

export const isAction = (value: string): value is Action => Object.hasOwn(ACTIONS, value);

/** What each action's two inputs mean (shown beside them, and the placeholders). */
export const ACTION_HELP: Record<Action, { source: string; options: string }> = {
  from: { source: 'field path, e.g. Account__r.BillingCity', options: 'optional transform steps (YAML list), e.g. [trim, upper]' },
  value: { source: '(not used)', options: 'the value (YAML): text, number, list, object' },
  map: { source: 'field path', options: 'YAML map, e.g. { High: 180, Low: 90 } or { map: {…}, fallback: 120 }' },
  range: { source: 'field path', options: 'YAML list, e.g. [{ max: 2, value: low }, { min: 2, value: high }]' },
  date: { source: 'field path', options: 'date options (YAML), e.g. { to: fn, add: { hours: 8 } }' },
  concat: { source: 'field paths, comma-separated', options: 'separator (default one space)' },
  template: { source: '(not used)', options: 'text with {{Field}} placeholders' },
  jsonata: { source: 'the fields it reads, comma-separated', options: 'JSONata expression' },
  jsonnet: { source: 'the fields it reads, comma-separated', options: 'Jsonnet script ($.input is the record)' },
  yaml: { source: '(not used)', options: 'the whole entry in YAML' },
};

export interface MappingRow {
  target: string;
  action: Action;
  source: string;
  options: string;
  required: boolean;
}

/** The part of a row a problem belongs to, for the highlight. */
export type RowPart = 'target' | 'action' | 'source' | 'options';

export interface RowIssue {
  /** Index into the rows; -1 for a problem of the whole mapping. */
  row: number;
  part: RowPart | null;
  message: string;
}

const CUSTOM = 'customFields.';
const list = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

class RowError extends Error {
  constructor(
    readonly part: RowPart,
    message: string,
  ) {
    super(message);
  }
}

function yamlValue(text: string, part: RowPart, what: string): unknown {
  try {
    return parseYaml(text);
  } catch (err) {
    throw new RowError(part, `${what} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** One row as a mapping entry; a RowError names the input at fault. */
export function entryOf(row: MappingRow): unknown {
  const source = row.source.trim();
  const options = row.options.trim();
  const needSource = () => {
    if (!source) throw new RowError('source', `${ACTIONS[row.action]} needs a source field`);
    return source;
  };
  const withRequired = (entry: Record<string, unknown>) => (row.required ? { ...entry, required: true } : entry);
  switch (row.action) {
    case 'from': {
      const from = needSource();
      if (!options) return row.required ? { from, required: true } : from;
      const steps = yamlValue(options, 'options', 'the transform steps');
      return withRequired({ from, transform: Array.isArray(steps) ? steps : [steps] });
    }
    case 'value':
      if (!options) throw new RowError('options', 'a static value needs the value (in options)');
      return withRequired({ value: yamlValue(options, 'options', 'the value') });
    case 'map': {
      const from = needSource();
      const parsed = yamlValue(options, 'options', 'the value map');
      if (!isRecord(parsed)) throw new RowError('options', 'a value map is a YAML map: { Salesforce value: Field Nation value, … }');
      return withRequired({ from, transform: [isRecord(parsed.map) ? parsed : { map: parsed }] });
    }
    case 'range': {
      const from = needSource();
      const parsed = yamlValue(options, 'options', 'the range map');
      if (!Array.isArray(parsed) && !(isRecord(parsed) && Array.isArray(parsed.range)))
        throw new RowError('options', 'a range map is a YAML list: [{ min, max, value }, …]');
      return withRequired({ from, transform: [Array.isArray(parsed) ? { range: parsed } : parsed] });
    }
    case 'date': {
      const from = needSource();
      const parsed = options ? yamlValue(options, 'options', 'the date options') : { to: 'fn' };
      if (!isRecord(parsed)) throw new RowError('options', 'date options are a YAML map, e.g. { to: fn }');
      return withRequired({ from, transform: [{ date: parsed }] });
    }
    case 'concat':
      return withRequired({ concat: { parts: list(needSource()), separator: row.options === '' ? ' ' : row.options } });
    case 'template':
      if (!options) throw new RowError('options', 'a template needs its text (in options)');
      return withRequired({ template: row.options });
    case 'jsonata':
    case 'jsonnet':
      if (!options) throw new RowError('options', `the ${ACTIONS[row.action]} expression is missing (in options)`);
      return withRequired({ [row.action]: row.options, reads: list(source) });
    case 'yaml': {
      if (!options) throw new RowError('options', 'write the entry in YAML (in options)');
      return yamlValue(options, 'options', 'the entry');
    }
  }
}

const flow = (value: unknown) => stringify(value, { flow: true, lineWidth: 0 }).trim();

/** A mapping entry as a row: the closest action that says exactly the same, else a YAML row. */
export function rowOf(target: string, entry: unknown): MappingRow {
  const row = (action: Action, source = '', options = '', required = false): MappingRow => ({ target, action, source, options, required });
  if (typeof entry === 'string') return row('from', entry);
  if (isRecord(entry)) {
    const { required, ...rest } = entry;
    const req = required === true;
    const keys = Object.keys(rest).sort().join(',');
    if (required === undefined || typeof required === 'boolean') {
      if (keys === 'from' && typeof rest.from === 'string') return row('from', rest.from, '', req);
      if (keys === 'from,transform' && typeof rest.from === 'string' && Array.isArray(rest.transform)) {
        const steps = rest.transform;
        const only = steps.length === 1 && isRecord(steps[0]) ? steps[0] : undefined;
        if (only && Object.keys(only).length === 1 && isRecord(only.date)) return row('date', rest.from, flow(only.date), req);
        if (only && isRecord(only.map)) return row('map', rest.from, flow(Object.keys(only).length === 1 ? only.map : only), req);
        if (only && Array.isArray(only.range))
          return row('range', rest.from, flow(Object.keys(only).length === 1 ? only.range : only), req);
        return row('from', rest.from, flow(steps), req);
      }
      if (keys === 'value') return row('value', '', flow(rest.value), req);
      if (keys === 'template' && typeof rest.template === 'string') return row('template', '', rest.template, req);
      const concat = rest.concat;
      if (
        keys === 'concat' &&
        isRecord(concat) &&
        Array.isArray(concat.parts) &&
        concat.parts.every((p) => typeof p === 'string' && !p.includes(','))
      ) {
        const separator = concat.separator === undefined ? '' : typeof concat.separator === 'string' ? concat.separator : undefined;
        if (separator !== undefined && separator !== '' && Object.keys(concat).every((k) => k === 'parts' || k === 'separator'))
          return row('concat', (concat.parts as string[]).join(', '), separator, req);
      }
      for (const lang of ['jsonata', 'jsonnet'] as const) {
        if (
          keys === `${lang},reads` &&
          typeof rest[lang] === 'string' &&
          Array.isArray(rest.reads) &&
          rest.reads.every((r) => typeof r === 'string')
        )
          return row(lang, (rest.reads as string[]).join(', '), rest[lang] as string, req);
      }
    }
  }
  return row('yaml', '', stringify(entry, { lineWidth: 0 }).trimEnd());
}

/** The rows of a mapping file (fields, then custom fields as `customFields.<id or name>`). */
export function rowsOfMapping(text: string): { object?: string; rows: MappingRow[] } {
  const raw = parseYaml(text) as Record<string, unknown> | null;
  if (!isRecord(raw)) return { rows: [] };
  const rows = [
    ...Object.entries(isRecord(raw.fields) ? raw.fields : {}).map(([t, e]) => rowOf(t, e)),
    ...Object.entries(isRecord(raw.customFields) ? raw.customFields : {}).map(([t, e]) => rowOf(`${CUSTOM}${t}`, e)),
  ];
  return { object: typeof raw.object === 'string' ? raw.object : undefined, rows };
}

/**
 * The mapping file the rows make, keeping the top-level keys of `previous` other than `fields` and
 * `customFields` (description…). Blank rows are skipped; problems a row alone shows (bad YAML, a missing
 * input, a target twice) come back as issues.
 */
export function mappingOfRows(object: string, rows: MappingRow[], previous?: string): { text: string; issues: RowIssue[] } {
  const issues: RowIssue[] = [];
  const fields: Record<string, unknown> = {};
  const customFields: Record<string, unknown> = {};
  const seen = new Map<string, number>();
  rows.forEach((row, i) => {
    const target = row.target.trim();
    if (!target && !row.source.trim() && !row.options.trim()) return;
    if (!target) return void issues.push({ row: i, part: 'target', message: 'choose the Field Nation target this row writes' });
    if (seen.has(target))
      return void issues.push({ row: i, part: 'target', message: `${target} is already written by row ${seen.get(target)! + 1}` });
    seen.set(target, i);
    try {
      const entry = entryOf({ ...row, target });
      if (target.startsWith(CUSTOM)) customFields[target.slice(CUSTOM.length)] = entry;
      else fields[target] = entry;
    } catch (err) {
      if (!(err instanceof RowError)) throw err;
      issues.push({ row: i, part: err.part, message: err.message });
    }
  });
  const parsed: Document = parseDocument(previous ?? '{}');
  // A previous file that does not parse has nothing to keep: the rows replace it.
  const doc: Document = parsed.errors.length ? parseDocument('{}') : parsed;
  if (!isMap(doc.contents)) doc.contents = doc.createNode({});
  doc.set('object', object);
  setSection(doc, 'fields', fields, true);
  setSection(doc, 'customFields', customFields, false);
  return { text: doc.toString({ lineWidth: 0 }), issues };
}

/**
 * `section` of the mapping document as `entries` (in their order), keeping each entry the rows left as
 * it was, with its comments; a changed entry keeps the comments on its key. An empty section is
 * removed unless `keepEmpty`.
 */
function setSection(doc: Document, section: string, entries: Record<string, unknown>, keepEmpty: boolean): void {
  const before = doc.get(section, true);
  const previous = isMap(before) ? (before as YAMLMap<unknown, unknown>) : undefined;
  if (!keepEmpty && Object.keys(entries).length === 0) {
    doc.delete(section);
    return;
  }
  const map = doc.createNode({}) as YAMLMap<unknown, unknown>;
  for (const [key, entry] of Object.entries(entries)) {
    const pair = previous?.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === key) as Pair | undefined;
    if (!pair) map.items.push(doc.createPair(key, entry));
    else {
      if (!isDeepStrictEqual(isNode(pair.value) ? pair.value.toJS(doc) : pair.value, entry)) pair.value = doc.createNode(entry);
      map.items.push(pair);
    }
  }
  if (previous) {
    map.commentBefore = previous.commentBefore;
    map.comment = previous.comment;
    map.flow = Boolean(previous.flow) && map.items.length > 0;
  }
  doc.set(section, map);
}

/** Which row (and which of its inputs) a validation problem of the compiled mapping belongs to. */
export function rowIssueOf(issue: MappingIssue, rows: MappingRow[]): RowIssue {
  const target = issue.target;
  const custom = /^custom_?fields\.(.+)$/i.exec(target)?.[1];
  const candidates = rows.map((r, i) => ({ t: r.target.trim(), i })).filter((r) => r.t);
  const hit =
    candidates.find((r) => r.t === target) ??
    (custom !== undefined ? candidates.find((r) => r.t === `${CUSTOM}${custom}`) : undefined) ??
    candidates.find((r) => target.startsWith(`${r.t}.`) || target.startsWith(`${r.t}[`));
  const message = issue.fix ? `${issue.message} — fix: ${issue.fix}` : issue.message;
  if (!hit) return { row: -1, part: null, message: `${target}: ${message}` };
  const row = rows[hit.i]!;
  return { row: hit.i, part: partOf(issue, row), message };
}

function partOf(issue: MappingIssue, row: MappingRow): RowPart {
  const m = issue.message;
  if (/work order has no field|cannot reach into its elements|not an object built with fields|, not a list$/i.test(m)) return 'target';
  if (row.action === 'value' || row.action === 'template' || row.action === 'yaml') return 'options';
  if (/\breads?\b|field path|relationship|identifier|hops|path/i.test(m) && !/mapped value|is not a value/i.test(m)) return 'source';
  if (/required value is missing/i.test(m)) return 'source';
  return 'options';
}
