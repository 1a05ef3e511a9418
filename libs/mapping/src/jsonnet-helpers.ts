/**
 * The Field Nation broker's `$.util` helper library for Jsonnet custom actions (reference §9), so an
 * existing script runs unchanged. Pure Jsonnet except date handling, which calls back into luxon
 * (jrsonnet's std has no time zones). Helpers whose exact upstream semantics are undocumented
 * (results_*, *_expense_*) follow the most literal reading of their names; see docs/mapping.md.
 */
interface Helper {
  code: string;
  /** Other helpers and locals this one calls. */
  uses: string[];
}

const LOCALS: Record<string, Helper> = {
  digits: { code: `local digits(s) = std.length(s) > 0 && std.all([std.member('0123456789', c) for c in std.stringChars(s)])`, uses: [] },
  step: {
    code: `local step(acc, k) =
    if acc == null then null
    else if std.isObject(acc) then (if std.objectHas(acc, k) then acc[k] else null)
    else if std.isArray(acc) && digits(k) then (local i = std.parseInt(k); if i < std.length(acc) then acc[i] else null)
    else null`,
    uses: ['digits'],
  },
  native: {
    code: `local native(name, args) =
    local r = std.parseJson(arakoo.native(name)(std.manifestJsonMinified(args)));
    if std.objectHas(r, 'error') then error r['error'] else r.value`,
    uses: [],
  },
  rows: {
    code: `local rows(c) = if c == null then [] else if std.isObject(c) then (if std.objectHas(c, 'results') then c.results else []) else c`,
    uses: [],
  },
};

const HELPERS: Record<string, Helper> = {
  lookup_field: {
    code: `lookup_field(obj, path, default=null)::
    local v = std.foldl(step, std.split(path, '.'), obj);
    if v == null then default else v`,
    uses: ['step'],
  },
  lookup_custom_field: {
    code: `lookup_custom_field(id, input, default=null)::
    local cats = util.lookup_field(input, 'custom_fields.results', []);
    local flat = std.flattenArrays([if std.isObject(c) && std.objectHas(c, 'results') then c.results else [c] for c in cats]);
    local hits = [f for f in flat if std.isObject(f) && std.objectHas(f, 'id') && std.toString(f.id) == std.toString(id)];
    if std.length(hits) == 0 || !std.objectHas(hits[0], 'value') || hits[0].value == null then default else hits[0].value`,
    uses: ['lookup_field'],
  },
  array_map: {
    code: `array_map(value, pairs, default=null)::
    local hits = [p.value for p in pairs if p.compare == value];
    if std.length(hits) > 0 then hits[0] else default`,
    uses: [],
  },
  range_map: {
    code: `range_map(value, ranges, default=null)::
    if value == null then default else
    local n = if std.isString(value) then std.parseJson(value) else value;
    local hits = [r.value for r in ranges
                  if (!std.objectHas(r, 'min') || n >= r.min) && (!std.objectHas(r, 'max') || n < r.max)];
    if std.length(hits) > 0 then hits[0] else default`,
    uses: [],
  },
  date_time_format_fn_utc: { code: `date_time_format_fn_utc():: 'YYYY-MM-DD HH:mm:ss'`, uses: [] },
  date_convert: {
    code: `date_convert(value, format_in='iso', format_out='YYYY-MM-DD HH:mm:ss', tz_in='UTC', tz_out='UTC')::
    if value == null then null else native('broker_date_convert', [value, format_in, format_out, tz_in, tz_out])`,
    uses: ['native'],
  },
  date_add: {
    code: `date_add(value, amount, unit='days', format='YYYY-MM-DD HH:mm:ss', tz='UTC')::
    if value == null then null else native('broker_date_add', [value, amount, unit, format, tz])`,
    uses: ['native'],
  },
  array_sum: { code: `array_sum(arr):: std.foldl(function(a, b) a + (if b == null then 0 else b), arr, 0)`, uses: [] },
  object_map_array: { code: `object_map_array(obj):: [{ key: k, value: obj[k] } for k in std.objectFields(obj)]`, uses: [] },
  results_values: {
    code: `results_values(collection, field):: [r[field] for r in rows(collection) if std.isObject(r) && std.objectHas(r, field)]`,
    uses: ['rows'],
  },
  results_values_unique: {
    code: `results_values_unique(collection, field):: std.set(util.results_values(collection, field))`,
    uses: ['results_values'],
  },
  results_group_by: {
    code: `results_group_by(collection, field)::
    local keyed = [r for r in rows(collection) if std.isObject(r) && std.objectHas(r, field)];
    { [k]: [r for r in keyed if std.toString(r[field]) == k] for k in std.set([std.toString(r[field]) for r in keyed]) }`,
    uses: ['rows'],
  },
  is_expense_approved_fn: {
    code: `is_expense_approved_fn(expense)::
    std.isObject(expense) && (
      (std.objectHas(expense, 'approved') && expense.approved == true) ||
      (std.objectHas(expense, 'status') && std.isString(expense.status) && std.asciiLower(expense.status) == 'approved') ||
      (std.objectHas(expense, 'status') && std.isObject(expense.status) && std.objectHas(expense.status, 'name') && std.asciiLower(expense.status.name) == 'approved')
    )`,
    uses: [],
  },
  sum_expense_field: {
    code: `sum_expense_field(expenses, field='amount', approved_only=true)::
    util.array_sum([e[field] for e in rows(expenses)
                    if std.isObject(e) && std.objectHas(e, field) && (!approved_only || util.is_expense_approved_fn(e))])`,
    uses: ['rows', 'array_sum', 'is_expense_approved_fn'],
  },
};

export const JSONNET_HELPER_NAMES = Object.keys(HELPERS);

/**
 * The `$.util` object for one script, holding only the helpers it names (and what those call).
 * jrsonnet parses the whole snippet on every evaluation and parsing the full library costs many
 * times the evaluation of a typical script, so unused helpers are left out.
 */
export function utilFor(script: string): string {
  const wanted = new Set<string>();
  const add = (name: string) => {
    if (wanted.has(name)) return;
    wanted.add(name);
    for (const dep of (HELPERS[name] ?? LOCALS[name])!.uses) add(dep);
  };
  for (const name of JSONNET_HELPER_NAMES) if (new RegExp(`\\b${name}\\b`).test(script)) add(name);
  if (wanted.size === 0) return '{}';
  const locals = Object.keys(LOCALS)
    .filter((n) => wanted.has(n))
    .map((n) => `  ${LOCALS[n]!.code},`);
  const helpers = JSONNET_HELPER_NAMES.filter((n) => wanted.has(n)).map((n) => `  ${HELPERS[n]!.code},`);
  return `{\n  local util = self,\n${[...locals, ...helpers].join('\n')}\n}`;
}
